-- schema [exec]
create schema if not exists "gold";

-- stage the query [exec]
create or replace temp table "__lake_new__gold__s" as
select *, (id) as "__lake_key_1", (name) as "__lake_key_2", TIMESTAMP '2026-11-21 12:00:00.000' as "__lake_upd" from (
select id, name, amount, day from "silver"."orders"
) as __lake_snapshot_src;

-- check null keys [assert-empty]
-- message: gold.s: a row of the snapshot's query has a NULL unique_key (id, name)
select * exclude ("__lake_key_1", "__lake_key_2", "__lake_upd") from "__lake_new__gold__s" where "__lake_key_1" is null or "__lake_key_2" is null limit 1;

-- check duplicate keys [assert-empty]
-- message: gold.s: the snapshot's query returns the same unique_key (id, name) more than once
select "__lake_key_1" as "id", "__lake_key_2" as "name", count(*) as copies from "__lake_new__gold__s" group by all having count(*) > 1 limit 1;

-- keys the query no longer returns [exec]
create or replace temp table "__lake_new__gold__s__gone" as
select t.* exclude ("__lake_key_1", "__lake_key_2") from (select *, (id) as "__lake_key_1", (name) as "__lake_key_2" from "gold"."s" as __lake_t where (__lake_t."dbt_valid_to" is null or __lake_t."dbt_valid_to" = ('9999-12-31'::date))) as t anti join "__lake_new__gold__s" as s on t."__lake_key_1" = s."__lake_key_1" and t."__lake_key_2" = s."__lake_key_2"
where t."dbt_is_deleted" is distinct from 'True';

-- close deleted keys [exec, rows]
update "gold"."s" set "dbt_valid_to" = cast(TIMESTAMP '2026-11-21 12:00:00.000' as DATE) where "dbt_scd_id" in (select "dbt_scd_id" from "__lake_new__gold__s__gone") and ("dbt_valid_to" is null or "dbt_valid_to" = ('9999-12-31'::date));

-- record deletions [exec, rows]
insert into "gold"."s" by name
select * replace (md5(coalesce(cast("dbt_scd_id" as varchar), '') || '|' || coalesce(cast(TIMESTAMP '2026-11-21 12:00:00.000' as varchar), '')) as "dbt_scd_id", TIMESTAMP '2026-11-21 12:00:00.000' as "dbt_updated_at", TIMESTAMP '2026-11-21 12:00:00.000' as "dbt_valid_from", coalesce(nullif(TIMESTAMP '2026-11-21 12:00:00.000', TIMESTAMP '2026-11-21 12:00:00.000'), ('9999-12-31'::date)) as "dbt_valid_to", 'True' as "dbt_is_deleted") from "__lake_new__gold__s__gone";

-- drop deleted keys [exec]
drop table if exists "__lake_new__gold__s__gone";

-- close changed versions [exec, rows]
update "gold"."s" set "dbt_valid_to" = c.__lake_close from (
select t."dbt_scd_id" as __lake_scd, s."__lake_upd" as __lake_close
from (select *, (id) as "__lake_key_1", (name) as "__lake_key_2" from "gold"."s" as __lake_t where (__lake_t."dbt_valid_to" is null or __lake_t."dbt_valid_to" = ('9999-12-31'::date))) as t join "__lake_new__gold__s" as s on t."__lake_key_1" = s."__lake_key_1" and t."__lake_key_2" = s."__lake_key_2"
where t."amount" is distinct from s."amount" or t."dbt_is_deleted" = 'True'
) as c
where "dbt_scd_id" = c.__lake_scd and ("dbt_valid_to" is null or "dbt_valid_to" = ('9999-12-31'::date));

-- new versions [exec, rows]
insert into "gold"."s" by name
select * exclude ("__lake_key_1", "__lake_key_2", "__lake_upd"), md5(coalesce(cast("__lake_key_1" as varchar), '') || '|' || coalesce(cast("__lake_key_2" as varchar), '') || '|' || coalesce(cast("__lake_upd" as varchar), '')) as "dbt_scd_id", "__lake_upd" as "dbt_updated_at", "__lake_upd" as "dbt_valid_from", coalesce(nullif("__lake_upd", "__lake_upd"), ('9999-12-31'::date)) as "dbt_valid_to", 'False' as "dbt_is_deleted" from "__lake_new__gold__s" as s anti join (select *, (id) as "__lake_key_1", (name) as "__lake_key_2" from "gold"."s" as __lake_t where (__lake_t."dbt_valid_to" is null or __lake_t."dbt_valid_to" = ('9999-12-31'::date))) as t on t."__lake_key_1" = s."__lake_key_1" and t."__lake_key_2" = s."__lake_key_2";

-- drop stage [exec]
drop table if exists "__lake_new__gold__s";
