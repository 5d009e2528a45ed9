"""What staff read about recordings (alerts in `hotline status` and the console), in one
place. Placeholders are filled with str.format."""

from __future__ import annotations

ALERTS = {
    "silent": "通话录音无声音（峰值 {level} dBFS）：{path}",
    "failed": "录音转码失败 {attempts} 次，原始文件已保留：{path}（{why}）",
    "missing": "通话 {call_id} 已接通并结束，但没有完整的录音文件{detail}",
    "orphan": "录音文件没有对应的通话记录：{path}",
    "disk": "录音所在磁盘剩余空间不足：剩余 {free_percent:.1f}%（{free_gb:.1f} GB），"
            "低于告警线 {warn_percent:.0f}%：{folder}",
}
