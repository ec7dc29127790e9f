"""`manage.py fleet_worker`: the background worker (django-tasks-db's db_worker) with the fleet's
schedule booked first, so that starting the worker is all it takes for refreshes to happen."""

import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from fleet.tasks import ensure_scheduled


class Command(BaseCommand):
    help = "Run the background worker, with the fleet's refresh schedule booked first."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="run what is due, then exit")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")

    def handle(self, *args, batch: bool = False, interval: float = 1.0, **options):
        if settings.WORKER_NICE and hasattr(os, "nice"):
            os.nice(settings.WORKER_NICE)  # background work: the web servers' pages go first
        ensure_scheduled()
        worker_options = {"interval": interval, "reload": False, "startup_delay": False}
        if batch:
            worker_options["batch"] = True
        call_command("db_worker", verbosity=options["verbosity"], **worker_options)
