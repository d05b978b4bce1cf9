{#- Dates and ages of the reference project (docs/reference-semantics.md). -#}

{#- The UTC calendar date of an epoch-seconds value. to_timestamp() gives a TIMESTAMPTZ, whose
    cast to DATE would use the session time zone; the report's dates are UTC dates. -#}
{% macro utc_date(epoch_seconds) -%}
cast(to_timestamp({{ epoch_seconds }}) at time zone 'UTC' as date)
{%- endmacro %}

{#- Full years between a birth date and the reference date (var age_reference_date): the
    reports use a fixed date so they do not change with the day the pipeline runs. -#}
{% macro age_in_years(birth_date) -%}
date_sub('year', {{ birth_date }}, date '{{ var("age_reference_date") }}')
{%- endmacro %}

{#- A `MM/DD/YYYY` text as a DATE, NULL when it is not a valid date. -#}
{% macro parse_dob(text) -%}
cast(try_strptime({{ text }}, '%m/%d/%Y') as date)
{%- endmacro %}
