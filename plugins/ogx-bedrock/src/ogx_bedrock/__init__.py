"""OGX inference provider `remote::bedrock`: Amazon Bedrock Runtime."""
