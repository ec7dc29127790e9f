from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_bulk_job"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="approval_id",
            field=models.PositiveBigIntegerField(blank=True, db_index=True, null=True),
        ),
    ]
