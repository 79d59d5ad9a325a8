"""Session-wide safety: fake credentials and a fixed region, so no test can reach real AWS."""

import os

# Set before any boto3 client exists. Profiles and real endpoints are removed.
for _name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106
    AWS_SESSION_TOKEN="testing",  # noqa: S106
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    AWS_EC2_METADATA_DISABLED="true",
)
