"""The local stack: template.yaml on moto, each function in a Lambda-like process (see local/run.py)."""
