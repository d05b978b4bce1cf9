-- Registered users (insert-new on user_id): the first row of a user in landing order wins;
-- later re-extracts of the same user, even with other values, are ignored (seed 002's Upserter).
{{ config(incremental_strategy='insert_new', unique_key='user_id') }}

select
  user_id,
  device_id,
  mac_address,
  registration_timestamp,
  _lake_file,
  _lake_file_mtime,
  _lake_line,
  _lake_batch
from {{ stream(ref('registered_users')) }}
where user_id is not null
  and device_id is not null
  and mac_address is not null and mac_address <> ''
  and registration_timestamp is not null
