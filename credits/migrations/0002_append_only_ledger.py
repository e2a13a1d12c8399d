"""Make PostgreSQL refuse changes to credit entries, not only the ORM.

The one UPDATE allowed is Django's SET_NULL of `user_id` / `actor_id` when an
account is deleted; everything else about an entry is frozen, and DELETE is
refused. TRUNCATE (test flushes, a deliberate purge) is not a row event and
still works.
"""

from django.db import migrations

APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION credits_creditentry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'credits_creditentry is append-only (DELETE refused)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (to_jsonb(NEW) - 'user_id' - 'actor_id')
            IS DISTINCT FROM (to_jsonb(OLD) - 'user_id' - 'actor_id')
        OR (NEW.user_id IS NOT NULL AND NEW.user_id IS DISTINCT FROM OLD.user_id)
        OR (NEW.actor_id IS NOT NULL AND NEW.actor_id IS DISTINCT FROM OLD.actor_id)
    THEN
        RAISE EXCEPTION 'credits_creditentry is append-only (UPDATE refused)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER credits_creditentry_append_only
    BEFORE UPDATE OR DELETE ON credits_creditentry
    FOR EACH ROW EXECUTE FUNCTION credits_creditentry_append_only();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS credits_creditentry_append_only ON credits_creditentry;
DROP FUNCTION IF EXISTS credits_creditentry_append_only();
"""


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_SQL)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [("credits", "0001_initial")]

    operations = [migrations.RunPython(add_trigger, drop_trigger)]
