"""Adapters from the domain's ports to AWS (DynamoDB, SQS, S3, SSM). Clients are lazy."""
