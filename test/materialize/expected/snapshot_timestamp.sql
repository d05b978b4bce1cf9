-- schema [exec]
create schema if not exists "gold";

-- stage the query [exec]
create or replace temp table "__lake_new__gold__s" as
select *, (id) as "__lake_key_1", (day) as "__lake_upd" from (
select id, name, amount, day from "silver"."orders"
) as __lake_snapshot_src;

-- check null keys [assert-empty]
-- message: gold.s: a row of the snapshot's query has a NULL unique_key (id)
select * exclude ("__lake_key_1", "__lake_upd") from "__lake_new__gold__s" where "__lake_key_1" is null limit 1;

-- check duplicate keys [assert-empty]
-- message: gold.s: the snapshot's query returns the same unique_key (id) more than once
select "__lake_key_1" as "id", count(*) as copies from "__lake_new__gold__s" group by all having count(*) > 1 limit 1;

-- add column day [exec]
alter table "gold"."s" add column "day" DATE;

-- close changed versions [exec, rows]
update "gold"."s" set "dbt_valid_to" = c.__lake_close from (
select t."dbt_scd_id" as __lake_scd, s."__lake_upd" as __lake_close
from (select *, (id) as "__lake_key_1" from "gold"."s" as __lake_t where __lake_t."dbt_valid_to" is null) as t join "__lake_new__gold__s" as s on t."__lake_key_1" = s."__lake_key_1"
where t."dbt_valid_from" < s."__lake_upd"
) as c
where "dbt_scd_id" = c.__lake_scd and "dbt_valid_to" is null;

-- new versions [exec, rows]
insert into "gold"."s" by name
select * exclude ("__lake_key_1", "__lake_upd"), md5(coalesce(cast("__lake_key_1" as varchar), '') || '|' || coalesce(cast("__lake_upd" as varchar), '')) as "dbt_scd_id", "__lake_upd" as "dbt_updated_at", "__lake_upd" as "dbt_valid_from", nullif("__lake_upd", "__lake_upd") as "dbt_valid_to" from "__lake_new__gold__s" as s anti join (select *, (id) as "__lake_key_1" from "gold"."s" as __lake_t where __lake_t."dbt_valid_to" is null) as t on t."__lake_key_1" = s."__lake_key_1";

-- drop stage [exec]
drop table if exists "__lake_new__gold__s";
