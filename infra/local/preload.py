"""What the local stack's fork server imports once, so that each function's worker (forked from it) starts with these
loaded: the libraries every function uses. Only libraries that read no environment at import; never the functions'
own code or the switchboard package, which a worker imports after it has taken its function's environment."""

# ruff: noqa: F401
import boto3
import botocore.client
import botocore.session
import pydantic
import requests
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.batch import BatchProcessor

import infra.local.lambdas  # the worker's own: Context and the handler loader
