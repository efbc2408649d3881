"""matcher replicas behind a real load balancer (haproxy), on 127.0.0.1: scaling, a rolling
snapshot update and a killed replica. `python -m benchmarks.replicas`; see __main__."""
