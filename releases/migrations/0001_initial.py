"""Release notes, taken over from the core app (opsknowledge 0009 gave them up).

State only: the model keeps the table it had (`opsknowledge_releasenote`) and every row in
it. Its content type is renamed rather than created anew, so whatever refers to release
notes through it (revisions, permissions, admin log) keeps referring to them."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


def rename_content_type(apps, schema_editor, old, new):
    """Give the release notes' content type the new app label. Should one with the new label
    exist already (post_migrate creates content types for the models as they are now), keep
    that one and move the revisions that referred to the old one onto it."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    stale = ContentType.objects.filter(app_label=old, model="releasenote").first()
    if stale is None:
        return
    current = ContentType.objects.filter(app_label=new, model="releasenote").first()
    if current is None:
        ContentType.objects.filter(pk=stale.pk).update(app_label=new)
        return
    Revision = apps.get_model("opsknowledge", "Revision")
    Revision.objects.filter(content_type=stale).update(content_type=current)
    stale.delete()


def forwards(apps, schema_editor):
    rename_content_type(apps, schema_editor, "opsknowledge", "releases")


def backwards(apps, schema_editor):
    rename_content_type(apps, schema_editor, "releases", "opsknowledge")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("opsknowledge", "0009_release_notes_move_to_releases"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ReleaseNote',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('slug', models.SlugField(max_length=150, validators=[django.core.validators.RegexValidator('\\A[a-z0-9]+(?:-[a-z0-9]+)*\\Z', "Use lower-case letters, digits and single hyphens (e.g. 'ceph', 'kubernetes-cluster-api').", code='invalid_slug')])),
                        ('kind', models.CharField(choices=[('highlight', 'Highlight'), ('feature', 'New feature'), ('upgrade', 'Upgrade note'), ('deprecation', 'Deprecation'), ('removal', 'Removal'), ('security', 'Security fix'), ('fix', 'Resolved issue'), ('known-issue', 'Known issue')], max_length=16)),
                        ('title', models.CharField(max_length=300)),
                        ('body', models.TextField(blank=True)),
                        ('body_html', models.TextField(blank=True, editable=False)),
                        ('order', models.PositiveIntegerField(default=0)),
                        ('source_url', models.URLField(blank=True, max_length=500)),
                        ('visibility', models.CharField(choices=[('public', 'Public'), ('community', 'Community (signed-in members of any organisation)'), ('organisation', 'Organisation members only')], default='public', max_length=16)),
                        ('status', models.CharField(choices=[('published', 'Published'), ('archived', 'Archived')], default='published', max_length=16)),
                        ('updated', models.DateTimeField(auto_now=True)),
                        ('component', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='release_notes', to='opsknowledge.component')),
                        ('organisation', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='release_notes', to='opsknowledge.organisation')),
                        ('release', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notes', to='opsknowledge.release')),
                    ],
                    options={
                        'db_table': 'opsknowledge_releasenote',
                        'ordering': ['release__released_on', 'organisation__slug', 'order', 'pk'],
                        'constraints': [models.UniqueConstraint(fields=('organisation', 'release', 'slug'), name='one_note_per_slug')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
