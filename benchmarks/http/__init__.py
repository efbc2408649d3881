"""HTTP load against `matcher serve`, beside a bare FastAPI endpoint of the same sizes."""
