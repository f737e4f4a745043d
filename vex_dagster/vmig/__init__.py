"""The `.vmig.jsonl` interchange format: records, streaming I/O, sidecar, checksum, lint."""

from vex_dagster.vmig.checksum import file_checksum
from vex_dagster.vmig.files import checkpoint_path, meta_path
from vex_dagster.vmig.io import VmigReader, VmigReadError, VmigWriter, read_records
from vex_dagster.vmig.meta import Meta, MetaError, read_meta, write_meta
from vex_dagster.vmig.record import Record, RecordError, record_from_dict

__all__ = [
    "Meta", "MetaError", "Record", "RecordError", "VmigReadError", "VmigReader", "VmigWriter",
    "checkpoint_path", "file_checksum", "meta_path", "read_meta", "read_records",
    "record_from_dict", "write_meta",
]
