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
  select t."user_id", t."email", t."updated", t."_lake_batch", s."_lake_sequence" as "__lake_seq", false as "__lake_delete", 0 as "__lake_origin"
  from "gold"."users" as t left join "gold"."users__lake_cdc_state" as s on t."user_id" is not distinct from s."user_id"
  where exists (select 1 from "__lake_new__gold__users" as n where t."user_id" is not distinct from n."user_id")
  union all by name
  select s."user_id", s."_lake_sequence" as "__lake_seq", true as "__lake_delete", 0 as "__lake_origin"
  from "gold"."users__lake_cdc_state" as s
  where s."_lake_deleted" and exists (select 1 from "__lake_new__gold__users" as n where s."user_id" is not distinct from n."user_id")
),
deduped as (
  select * exclude ("__lake_rank") from (
    select *, row_number() over (partition by "user_id", "__lake_seq" order by "__lake_delete" desc, case when "__lake_delete" then "__lake_origin" end, "email" desc nulls last, "updated" desc nulls last, "__lake_origin") as "__lake_rank"
    from changes
  ) where "__lake_rank" = 1
),
segmented as (
  select *, sum(case when "__lake_delete" then 1 else 0 end) over (partition by "user_id" order by "__lake_seq" nulls first rows between unbounded preceding and current row) as "__lake_segment"
  from deduped
),
folded as (
  select * exclude ("__lake_stored"), "__lake_origin" = 1 or "__lake_stored" is distinct from {'email': "email", 'updated': "updated"} as "__lake_changed"
  from (
    select "user_id", "__lake_seq", "__lake_delete", "__lake_origin",
      last_value(case when not "__lake_delete" then "email" end ignore nulls) over w as "email",
      last_value(case when not "__lake_delete" then "updated" end ignore nulls) over w as "updated",
      "_lake_batch",
      {'email': "email", 'updated': "updated"} as "__lake_stored",
      row_number() over (partition by "user_id" order by "__lake_seq" desc nulls last) as "__lake_last"
    from segmented
    window w as (partition by "user_id", "__lake_segment" order by "__lake_seq" nulls first rows between unbounded preceding and current row)
  )
)
select * exclude ("__lake_last", "__lake_changed") replace ((select max("_lake_batch") from "__lake_new__gold__users") as "_lake_batch") from folded
where "__lake_last" = 1 and "__lake_changed";

-- apply changes [exec]
merge into "gold"."users" as t using "__lake_cdc__gold__users" as r
on t."user_id" is not distinct from r."user_id"
when matched and r."__lake_delete" then delete
when matched and not r."__lake_delete" then update set "email" = r."email", "updated" = r."updated", "_lake_batch" = r."_lake_batch"
when not matched and not r."__lake_delete" then insert ("user_id", "email", "updated", "_lake_batch") values (r."user_id", r."email", r."updated", r."_lake_batch");

-- state: drop old [exec]
delete from "gold"."users__lake_cdc_state" as s where exists (select 1 from "__lake_cdc__gold__users" as r where s."user_id" is not distinct from r."user_id");

-- state: record [exec]
insert into "gold"."users__lake_cdc_state" ("user_id", "_lake_sequence", "_lake_deleted")
select "user_id", "__lake_seq", "__lake_delete" from "__lake_cdc__gold__users";

-- count [count]
select count(*) as n from "__lake_cdc__gold__users";

-- drop result [exec]
drop table if exists "__lake_cdc__gold__users";

-- drop stage [exec]
drop table if exists "__lake_new__gold__users";
