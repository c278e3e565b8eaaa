// What systemd asks of a service, without libsystemd: readiness through
// $NOTIFY_SOCKET (sd_notify(3)) and whether stderr is the journal
// ($JOURNAL_STREAM). Both are no-ops elsewhere (OpenRC, a terminal).
#pragma once

#include <string>

namespace swamp {

// Sends `state` ("READY=1", "STOPPING=1", "STATUS=…") to the service manager;
// false if there is none or it could not be reached.
bool notify_service_manager(const std::string& state);
// True if stderr is the stream systemd connected to the journal.
bool stderr_is_journal();

}  // namespace swamp
