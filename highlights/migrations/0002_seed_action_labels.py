"""Seed the action taxonomy: sport actions mapped onto Kinetics-400 classes (editors extend it in the admin)."""

from django.db import migrations

SEED = {
    "basketball": {
        "dunk": ["dunking basketball"],
        "shot": ["shooting basketball"],
        "dribble": ["dribbling basketball"],
        "play": ["playing basketball"],
    },
    "baseball": {"hit": ["hitting baseball"], "pitch or catch": ["catching or throwing baseball"]},
    "tennis": {"rally": ["playing tennis"]},
    "soccer": {
        "goal attempt": ["shooting goal (soccer)"],
        "kick": ["kicking soccer ball"],
        "juggling": ["juggling soccer ball"],
    },
    "football": {"pass": ["passing American football (in game)"]},
    "hockey": {"play": ["playing ice hockey"], "hockey stop": ["hockey stop"]},
    "other": {
        "celebration": ["celebrating", "applauding", "cheerleading"],
        "volleyball": ["playing volleyball"],
        "cricket": ["playing cricket"],
        "badminton": ["playing badminton"],
        "golf": ["golf driving", "golf chipping", "golf putting"],
    },
}


def seed(apps, schema_editor):
    ActionLabel = apps.get_model("highlights", "ActionLabel")
    for sport, actions in SEED.items():
        for name, classes in actions.items():
            ActionLabel.objects.update_or_create(sport=sport, name=name, defaults={"model_classes": classes})


def unseed(apps, schema_editor):
    ActionLabel = apps.get_model("highlights", "ActionLabel")
    for sport, actions in SEED.items():
        ActionLabel.objects.filter(sport=sport, name__in=list(actions)).delete()


class Migration(migrations.Migration):
    dependencies = [("highlights", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
