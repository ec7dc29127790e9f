from django.db import migrations


def forget_tally(apps, schema_editor):
    # The tally's groups gained values in 0008 to 0011's features (class, drifting, held by
    # quota, idle but costing, cost band): the next view counts them again.
    apps.get_model("fleet", "InventoryGroup").objects.all().delete()
    apps.get_model("fleet", "InventoryTally").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("fleet", "0011_cost")]

    operations = [migrations.RunPython(forget_tally, migrations.RunPython.noop)]
