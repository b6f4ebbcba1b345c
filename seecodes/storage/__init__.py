"""Object storage: local files with app-signed URLs, or S3 through boto3."""
