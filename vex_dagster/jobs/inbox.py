"""The inbox job: import one complete ``.vmig.jsonl`` dropped into the inbox folder.

The inbox sensor launches it once per file (name + checksum), naming the target
in the run config; the target is the file's meta ``target`` ({store, collection})
when present, else the ``inbox.target`` of migrations.yaml, else the file's name as
the collection.
"""


import dagster as dg
from pydantic import Field

from vex_dagster.pipeline import import_file
from vex_dagster.progress import LogProgress
from vex_dagster.resources import resource_class

INBOX_TARGET = "inbox_target"


class InboxFile(dg.Config):
    path: str = Field(description="the .vmig.jsonl file to import (its meta file beside it)")
    store: str = Field(description="target store name")
    collection: str = Field(description="target collection")


@dg.op(required_resource_keys={INBOX_TARGET}, description="Verify the file, then upsert it into the target.")
def import_inbox_file(context: dg.OpExecutionContext, config: InboxFile) -> dg.Output:
    configured = getattr(context.resources, INBOX_TARGET)
    # A meta file may name another store than the configured one: open that with its defaults
    # (and its VEX_<STORE>_* variables).
    resource = configured if configured.store == config.store else resource_class(config.store)()
    with resource.get_client() as target:
        result = import_file(target, config.collection, config.path, progress=LogProgress(context.log))
    context.log.info(result.summary("imported", f"from {config.path} into {config.store}:{config.collection}"))
    return dg.Output(None, metadata={"path": dg.MetadataValue.path(config.path), "store": config.store,
                                     "collection": config.collection, "records": result.records})


@dg.job(name="vex_inbox_import", description="Import one vmig file from the inbox (launched by vex_inbox).")
def inbox_import_job():
    import_inbox_file()
