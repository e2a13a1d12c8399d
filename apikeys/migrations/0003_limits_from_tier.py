from django.db import migrations, models


def keep_granted_figures(apps, schema_editor):
    """Keys provisioned or raised by an approved request keep their figures.

    Every other existing key is taken to hold its tier's defaults and follows
    its owner's tier from now on; an operator's earlier edit is not told
    apart (the audit log is not consulted).
    """
    ApiKey = apps.get_model("apikeys", "ApiKey")
    ApiKey.objects.filter(requests__status="APPROVED").update(limits_from_tier=False)


class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0002_request_grants"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="limits_from_tier",
            field=models.BooleanField(default=True),
        ),
        migrations.RunPython(keep_granted_figures, migrations.RunPython.noop),
    ]
