{{/* Names, labels and the few computed values shared by the templates. */}}

{{- define "matcher.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "matcher.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "matcher.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "matcher.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "matcher.selectorLabels" -}}
app.kubernetes.io/name: {{ include "matcher.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "matcher.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "matcher.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "matcher.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "matcher.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "matcher.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "matcher.secretName" -}}
{{- default (include "matcher.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* A value as the service reads it: Helm holds YAML numbers as floats, so a whole
number is written without an exponent (2000000, not 2e+06). */}}
{{- define "matcher.scalar" -}}
{{- if and (kindIs "float64" .) (eq . (floor .)) -}}
{{- int64 . -}}
{{- else -}}
{{- . -}}
{{- end -}}
{{- end -}}

{{/* The container's MATCHER_* settings from .Values.config (fooBarS -> MATCHER_FOO_BAR_S). */}}
{{- define "matcher.configEnv" -}}
{{- range $key, $value := .Values.config }}
- name: {{ printf "MATCHER_%s" ($key | snakecase | upper) }}
  value: {{ include "matcher.scalar" $value | quote }}
{{- end }}
{{- end -}}

{{/* Checks that stop a render which would deploy something broken or open. */}}
{{- define "matcher.validate" -}}
{{- $s := .Values.snapshot -}}
{{- if not (has $s.source (list "embedded" "volume" "url" "command")) -}}
{{- fail (printf "snapshot.source must be embedded, volume, url or command (got %q)" $s.source) -}}
{{- end -}}
{{- if and (ne $s.source "embedded") (not (regexMatch "^sha256:[0-9a-f]{16}$" $s.version)) -}}
{{- fail "snapshot.version must be the snapshot_version to serve (sha256:<16 hex>, as `matcher validate-registry FILE` prints it)" -}}
{{- end -}}
{{- if and $s.fileSha256 (not (regexMatch "^[0-9a-f]{64}$" $s.fileSha256)) -}}
{{- fail "snapshot.fileSha256 must be 64 lower-case hex digits" -}}
{{- end -}}
{{- if and (eq $s.source "volume") (or (not $s.volume.path) (not $s.volume.source)) -}}
{{- fail "snapshot.source=volume needs snapshot.volume.path and snapshot.volume.source" -}}
{{- end -}}
{{- if and (eq $s.source "url") (not (hasPrefix "https://" $s.url.location)) -}}
{{- fail "snapshot.source=url needs snapshot.url.location starting with https://" -}}
{{- end -}}
{{- if and (eq $s.source "command") (or (not $s.command.image) (not $s.command.command)) -}}
{{- fail "snapshot.source=command needs snapshot.command.image and snapshot.command.command" -}}
{{- end -}}
{{- if and .Values.secrets.requireApiKeys (not .Values.secrets.apiKeys) (not .Values.secrets.existingSecret) -}}
{{- fail "secrets.apiKeys (or secrets.existingSecret) is required: without client keys the API answers anyone; set secrets.requireApiKeys=false to run it open" -}}
{{- end -}}
{{- if ne (int .Values.config.workers) 1 -}}
{{- fail "config.workers must be 1 in Kubernetes: scale with replicas (probes and /metrics are per worker process)" -}}
{{- end -}}
{{- if .Values.config.watchRegistry -}}
{{- fail "config.watchRegistry must be false: a pod serves one snapshot version; change snapshot.version to roll a new one out" -}}
{{- end -}}
{{- end -}}
