-- schema [exec]
create schema if not exists "seeds";

-- drop stale temp [exec]
drop table if exists "seeds"."gyms__lake_tmp";

-- build [exec]
create table "seeds"."gyms__lake_tmp" as
select * from read_csv('/project/seeds/gyms.csv', header = true, auto_detect = true, sample_size = -1, types = {'gym': 'INTEGER'});

-- count [count]
select count(*) as n from "seeds"."gyms__lake_tmp";

-- swap [exec]
alter table "seeds"."gyms__lake_tmp" rename to "gyms";
