from django.db import migrations


def forget_tally(apps, schema_editor):
    # The tally's groups gain a value (the cost band): the next view counts them again.
    apps.get_model("fleet", "InventoryGroup").objects.all().delete()
    apps.get_model("fleet", "InventoryTally").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("fleet", "0012_forget_tally")]

    operations = [migrations.RunPython(forget_tally, migrations.RunPython.noop)]
