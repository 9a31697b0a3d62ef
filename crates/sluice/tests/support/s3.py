"""The publish tests' side of the S3 server (boto3, which moto[server] installs).

    s3.py setup ENDPOINT             -> {"key": ..., "secret": ...}: an IAM user allowed
                                        everything (the server checks signatures after it)
    s3.py mkbucket ENDPOINT BUCKET
    s3.py put ENDPOINT BUCKET KEY TEXT
    s3.py dump ENDPOINT BUCKET       -> {key: {md5, size, content_type, cache_control,
                                        content_encoding, metadata}} of every object
    s3.py deny-put ENDPOINT KEY      -> a second user that may do all but put KEY's
                                        objects: {"key": ..., "secret": ...}

Credentials for mkbucket/dump come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
"""

import hashlib
import json
import sys

import boto3

ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def client(service, endpoint, **kw):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", **kw)


def user(endpoint, name, policy, **credentials):
    iam = client("iam", endpoint, **credentials)
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}


def main(argv):
    command, endpoint = argv[0], argv[1]
    if command == "setup":
        # Before signatures are checked: any key will do.
        setup = {"aws_access_key_id": "setup", "aws_secret_access_key": "setup"}
        print(json.dumps(user(endpoint, "sluice", ALL, **setup)))
    elif command == "deny-put":
        deny = dict(ALL)
        deny["Statement"] = ALL["Statement"] + [
            {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::" + argv[2]}
        ]
        print(json.dumps(user(endpoint, "denied", deny)))
    elif command == "mkbucket":
        client("s3", endpoint).create_bucket(Bucket=argv[2])
    elif command == "put":
        client("s3", endpoint).put_object(Bucket=argv[2], Key=argv[3], Body=argv[4].encode())
    elif command == "dump":
        s3 = client("s3", endpoint)
        out = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=argv[2]):
            for obj in page.get("Contents", []):
                got = s3.get_object(Bucket=argv[2], Key=obj["Key"])
                body = got["Body"].read()
                out[obj["Key"]] = {
                    "md5": hashlib.md5(body).hexdigest(),
                    "size": len(body),
                    "content_type": got.get("ContentType"),
                    "cache_control": got.get("CacheControl"),
                    "content_encoding": got.get("ContentEncoding"),
                    "metadata": got.get("Metadata", {}),
                }
        print(json.dumps(out))
    else:
        sys.exit("unknown command " + command)


main(sys.argv[1:])
