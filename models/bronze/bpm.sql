-- Raw records of the Kafka topic 'bpm', each new landing file ingested once: the record's fields,
-- the envelope (_key, _topic, _partition, _offset, _timestamp) and the origin (_lake_file,
-- _lake_line, _lake_batch). Redelivered envelopes and malformed lines never get here.
select * from {{ source('kafka', 'bpm') }}
