-- schema [exec]
create schema if not exists "gold";

-- create view [exec]
create or replace view "gold"."v" as
select id, name, amount, day from "silver"."orders";
