-- Gym visits (insert-new on mac_address, gym, login): the first extract of a visit wins; a
-- re-extract, even with another logout, is ignored.
{{ config(incremental_strategy='insert_new', unique_key=['mac_address', 'gym', 'login']) }}

select
  mac_address,
  gym,
  login,
  logout,
  _lake_file,
  _lake_file_mtime,
  _lake_line,
  _lake_batch
from {{ stream(ref('gym_logins')) }}
where mac_address is not null and mac_address <> ''
  and gym is not null
  and login is not null
  and logout is not null
