"""get-item and create-item in Python 3.11 + boto3: the baseline the Rust functions are measured
against. The same contract in the essentials (owner from the authorizer's sub, conditional put,
consistent read, problem+json errors, ETag/Location), written the way such functions usually are:
one module, the client made once per cold start."""

import json
import os
import re
import uuid
from datetime import datetime, timezone

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

TABLE = boto3.resource(
    "dynamodb",
    config=Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 3}),
).Table(os.environ["TABLE_NAME"])
ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _problem(status, title, detail, event):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/problem+json"},
        "body": json.dumps({
            "type": "about:blank", "title": title, "status": status, "detail": detail,
            "requestId": event.get("requestContext", {}).get("requestId", ""),
        }),
    }


def _owner(event):
    claims = (event.get("requestContext") or {}).get("authorizer", {}).get("claims", {})
    return claims.get("sub")


def _item(record):
    return {
        "id": record["id"], "name": record["name"], "description": record["description"],
        "tags": record["tags"], "version": int(record["version"]),
        "createdAt": record["createdAt"], "updatedAt": record["updatedAt"],
    }


def get_item(event, context):
    owner = _owner(event)
    if not owner:
        return _problem(401, "Unauthorized", "no identity", event)
    item_id = (event.get("pathParameters") or {}).get("id", "")
    if not ID.match(item_id):
        return _problem(400, "Bad request", "id must be an item id", event)
    try:
        found = TABLE.get_item(Key={"PK": f"USER#{owner}", "SK": f"ITEM#{item_id}"}, ConsistentRead=True)
    except ClientError:
        return _problem(503, "Service unavailable", "", event)
    if "Item" not in found:
        return _problem(404, "Not found", "no such item", event)
    item = _item(found["Item"])
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "ETag": f'"{item["version"]}"'},
        "body": json.dumps(item),
    }


def create_item(event, context):
    owner = _owner(event)
    if not owner:
        return _problem(401, "Unauthorized", "no identity", event)
    try:
        body = json.loads(event.get("body") or "")
    except ValueError:
        return _problem(400, "Bad request", "the body is not JSON", event)
    if not isinstance(body, dict) or set(body) - {"name", "description", "tags"}:
        return _problem(400, "Bad request", "unknown fields", event)
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 200:
        return _problem(400, "Bad request", "name must be 1 to 200 characters", event)
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    item = {
        "id": str(uuid.uuid4()), "name": name, "description": body.get("description", ""),
        "tags": body.get("tags", []), "version": 1, "createdAt": now, "updatedAt": now,
    }
    try:
        TABLE.put_item(
            Item={"PK": f"USER#{owner}", "SK": f"ITEM#{item['id']}", **item},
            ConditionExpression="attribute_not_exists(PK)",
        )
    except ClientError:
        return _problem(503, "Service unavailable", "", event)
    return {
        "statusCode": 201,
        "headers": {
            "Content-Type": "application/json", "ETag": '"1"',
            "Location": f"{event['requestContext']['path'].rstrip('/')}/{item['id']}",
        },
        "body": json.dumps(item),
    }
