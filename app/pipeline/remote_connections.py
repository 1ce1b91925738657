"""The S3 and Druid clients one desk uses for every task, and its one Druid status poller."""

from __future__ import annotations

import threading

from app.pipeline.druid_poller import DruidPoller
from app.services.druid import DruidClient
from app.services.settings import Settings
from app.services.storage import S3Config, S3Uploader, UploadIndex, UploadOptions, make_client


class Connections:
    """S3 (uploads and the duplicate index) and Druid, shared by every task on one desk."""

    def __init__(self, s3: S3Config, uploader: S3Uploader, druid: DruidClient) -> None:
        self.s3 = s3
        self.uploader = uploader
        self.index = UploadIndex(uploader.client, s3)
        self.druid = druid
        self._poller: DruidPoller | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, settings: Settings, upload: UploadOptions | None = None
    ) -> Connections:
        config = S3Config.from_settings(settings)
        uploader = S3Uploader(make_client(config), config, upload)
        return cls(config, uploader, DruidClient.from_settings(settings))

    def poller(self, interval_s: float) -> DruidPoller:
        """The desk's one poller: every followed Druid task shares one bulk request per
        interval (the first caller's interval sets the pace)."""
        with self._lock:
            if self._poller is None:
                self._poller = DruidPoller(self.druid, interval_s=interval_s)
            return self._poller

    def close(self) -> None:
        with self._lock:
            poller, self._poller = self._poller, None
        if poller is not None:
            poller.close()
        self.druid.close()
