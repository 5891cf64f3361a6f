from django.db import migrations, models


def supply_tonnes(snapshot) -> float:
    return float(sum(s["tonnes"] for s in (snapshot or {}).get("supplies", [])))


def backfill(apps, schema_editor):
    OptimizationRun = apps.get_model("optimizer", "OptimizationRun")
    runs = OptimizationRun.objects.filter(input_snapshot__isnull=False)
    for pk, snapshot in runs.values_list("pk", "input_snapshot").iterator(chunk_size=20):
        OptimizationRun.objects.filter(pk=pk).update(input_supply_tonnes=supply_tonnes(snapshot))


class Migration(migrations.Migration):
    dependencies = [("optimizer", "0003_processing_plants")]

    operations = [
        migrations.AddField(
            model_name="optimizationrun",
            name="input_supply_tonnes",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
