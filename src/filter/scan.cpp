#include "filter/scan.h"

namespace mailfort::filter {

std::string_view action_name(Action a) {
  switch (a) {
    case Action::NoAction:
      return "no action";
    case Action::AddHeader:
      return "add header";
    case Action::SoftReject:
      return "soft reject";
    case Action::Reject:
      return "reject";
  }
  return "no action";
}

std::string_view learn_outcome_name(LearnOutcome o) {
  switch (o) {
    case LearnOutcome::Learned:
      return "learned";
    case LearnOutcome::AlreadyLearned:
      return "already learned";
    case LearnOutcome::Relearned:
      return "relearned";
    case LearnOutcome::Skipped:
      return "skipped";
  }
  return "skipped";
}

}  // namespace mailfort::filter
