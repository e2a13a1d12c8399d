"""storage API routes, mounted under /api/.

`{name}` uses the `path` converter so names may contain `/`. The metadata
route comes first: a file whose own name ends in `/metadata` therefore
cannot be addressed through `files/{name}` (a known limit of the seed's URL
design). `files/bulk-delete` answers POST, and GET/DELETE of a file named
`bulk-delete` still work through it.
"""

from django.urls import path

from storage import views

app_name = "storage"

urlpatterns = [
    path("storage/upload", views.UploadView.as_view(), name="upload"),
    path("storage/files", views.FileListView.as_view(), name="file-list"),
    path(
        "storage/files/bulk-delete",
        views.BulkDeleteView.as_view(),
        name="file-bulk-delete",
    ),
    path(
        "storage/files/<path:name>/metadata",
        views.FileMetadataView.as_view(),
        name="file-metadata",
    ),
    path(
        "storage/files/<path:name>", views.FileDetailView.as_view(), name="file-detail"
    ),
    path("storage/usage", views.UsageView.as_view(), name="usage"),
    path("storage/analytics", views.AnalyticsView.as_view(), name="analytics"),
]
