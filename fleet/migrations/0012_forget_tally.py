from django.db import migrations


def forget_tally(apps, schema_editor):
    # The tally's groups gain two values (held by quota, idle but costing): the next view counts
    # them again.
    apps.get_model("fleet", "InventoryGroup").objects.all().delete()
    apps.get_model("fleet", "InventoryTally").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("fleet", "0011_cost")]

    operations = [migrations.RunPython(forget_tally, migrations.RunPython.noop)]
