"""The ports' implementations: DynamoDB, SQS, SES, SNS, Secrets Manager, the payment provider."""
