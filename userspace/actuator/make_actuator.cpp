#include "actuator/actuator.hpp"
#include "actuator/dry_run_actuator.hpp"
#include "actuator/freeze_actuator.hpp"
#include "actuator/signal_actuator.hpp"
#include "actuator/watchdog.hpp"

namespace swamp {

std::unique_ptr<Actuator> make_actuator(const ActuatorOptions& o) {
    switch (o.kind) {
        case ActionKind::Freeze:
            return std::make_unique<WatchedActuator>(std::make_unique<FreezeActuator>(o.build_root));
        case ActionKind::DryRun: return std::make_unique<DryRunActuator>();
        case ActionKind::Signal: break;
    }
    return std::make_unique<WatchedActuator>(std::make_unique<SignalActuator>());
}

}  // namespace swamp
