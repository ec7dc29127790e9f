"""Writes to Neon. Each service makes one Neon call inside `audited`, so every attempt, failed or
not, leaves exactly one audit record naming the person who asked."""

from audit.services import Actor, audited
from projects.neon import Project, get_client


def project_delete(*, actor: Actor, project_id: str, project_name: str) -> Project:
    with audited(
        actor=actor,
        action="project.delete",
        project_id=project_id,
        project_name=project_name,
        request_data={"project_id": project_id},
    ) as entry:
        project = get_client().delete_project(project_id, request_id=entry.request_id)
        entry.status = 200
    return project
