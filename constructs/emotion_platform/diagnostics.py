"""Diagnostic settings to Log Analytics: one shape for every resource the platform logs."""

from __future__ import annotations

from cdktf_cdktf_provider_azurerm.monitor_diagnostic_setting import (
    MonitorDiagnosticSetting,
    MonitorDiagnosticSettingEnabledLog,
    MonitorDiagnosticSettingEnabledMetric,
)
from constructs import Construct


def to_log_analytics(
    scope: Construct,
    id: str,
    *,
    target_resource_id: str,
    workspace_id: str,
    log_category_group: str = "allLogs",
    metric_category: str = "AllMetrics",
    destination_type: str | None = None,
) -> MonitorDiagnosticSetting:
    """Send a resource's logs (a category group, so new categories are included) and metrics to a workspace."""
    return MonitorDiagnosticSetting(
        scope,
        id,
        name="to-log-analytics",
        target_resource_id=target_resource_id,
        log_analytics_workspace_id=workspace_id,
        log_analytics_destination_type=destination_type,
        enabled_log=[MonitorDiagnosticSettingEnabledLog(category_group=log_category_group)],
        enabled_metric=[MonitorDiagnosticSettingEnabledMetric(category=metric_category)],
    )
