from serve import serve


def export(body):  # the POST handler
    import yaml

    return yaml.safe_dump(yaml.safe_load(body))


serve(post=export)
