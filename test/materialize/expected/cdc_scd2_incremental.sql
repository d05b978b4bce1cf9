-- schema [exec]
create schema if not exists "gold";

-- stage changes [exec]
create or replace temp table "__lake_new__gold__users" as
select *, "updated" as "__lake_seq", coalesce((update_type = 'delete'), false) as "__lake_delete"
from (
select * from "bronze"."user_changes"
) as __lake_src;

-- check sequence not null [assert-empty]
-- message: gold.users: a change record has a NULL sequence_by (updated), so it cannot be ordered
select "user_id", "updated" from "__lake_new__gold__users" where "updated" is null limit 1;

-- create state if missing [exec]
create table if not exists "gold"."users__lake_cdc_state" as
select "user_id", "__lake_seq" as "_lake_sequence", "__lake_delete" as "_lake_deleted" from "__lake_new__gold__users" limit 0;

-- resolve changes [exec]
create or replace temp table "__lake_cdc__gold__users" as
with changes as (
  select "user_id", "email", "updated", "_lake_batch", "__lake_seq", "__lake_delete", 1 as "__lake_origin" from "__lake_new__gold__users"
  union all by name
  select t."user_id", t."email", t."updated", t."_lake_batch", t."valid_from" as "__lake_seq", false as "__lake_delete", 0 as "__lake_origin", t."valid_to" as "__lake_old_to"
  from "gold"."users" as t join (select "user_id", min("__lake_seq") as "__lake_from" from "__lake_new__gold__users" group by "user_id") as b on t."user_id" is not distinct from b."user_id"
  where t."valid_to" is null or t."valid_to" > b."__lake_from"
  union all by name
  select s."user_id", s."_lake_sequence" as "__lake_seq", true as "__lake_delete", 0 as "__lake_origin"
  from "gold"."users__lake_cdc_state" as s join (select "user_id", min("__lake_seq") as "__lake_from" from "__lake_new__gold__users" group by "user_id") as b on s."user_id" is not distinct from b."user_id"
  where s."_lake_sequence" >= b."__lake_from"
),
deduped as (
  select * exclude ("__lake_rank") from (
    select *, row_number() over (partition by "user_id", "__lake_seq" order by "__lake_delete" desc, case when "__lake_delete" then "__lake_origin" end, "email" desc nulls last, "updated" desc nulls last, "__lake_origin") as "__lake_rank"
    from changes
  ) where "__lake_rank" = 1
),
versions as (
  select *, "__lake_origin" = 1 as "__lake_changed" from deduped
),
linked as (
  select *, lead("__lake_seq") over (partition by "user_id" order by "__lake_seq") as "__lake_next" from versions
)
select * exclude ("__lake_next", "__lake_old_to", "__lake_changed", "_lake_batch"), case when "__lake_changed" or "__lake_old_to" is distinct from "__lake_next" then (select max("_lake_batch") from "__lake_new__gold__users") else "_lake_batch" end as "_lake_batch", "__lake_seq" as "valid_from", "__lake_next" as "valid_to"
from linked;

-- remove rewritten tail [exec]
delete from "gold"."users" as t using (select "user_id", min("__lake_seq") as "__lake_from" from "__lake_new__gold__users" group by "user_id") as b
where t."user_id" is not distinct from b."user_id" and (t."valid_to" is null or t."valid_to" > b."__lake_from");

-- insert versions [exec]
insert into "gold"."users" ("user_id", "email", "updated", "_lake_batch", "valid_from", "valid_to")
select "user_id", "email", "updated", "_lake_batch", "valid_from", "valid_to" from "__lake_cdc__gold__users" where not "__lake_delete";

-- state: record deletes [exec]
insert into "gold"."users__lake_cdc_state" ("user_id", "_lake_sequence", "_lake_deleted")
select "user_id", "__lake_seq", true from "__lake_cdc__gold__users" where "__lake_delete" and "__lake_origin" = 1;

-- count [count]
select count(*) as n from "__lake_cdc__gold__users" where "__lake_origin" = 1;

-- drop result [exec]
drop table if exists "__lake_cdc__gold__users";

-- drop stage [exec]
drop table if exists "__lake_new__gold__users";
