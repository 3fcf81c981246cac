package clone

import "testing"

// TestStages: every stage has a name and a phase, and the phases follow
// the child's order (seccomp, after the gate, is the privilege phase's
// last step).
func TestStages(t *testing.T) {
	last := PhaseNone
	for s := StageNone + 1; s < numStages; s++ {
		if stageNames[s] == "" {
			t.Errorf("stage %d has no name", uint32(s))
		}
		ph := s.Phase()
		if ph == PhaseNone {
			t.Errorf("%v has no phase", s)
		}
		if ph < last && s != StageSeccomp {
			t.Errorf("%v is in phase %d, before the phase %d of the stage it follows", s, ph, last)
		}
		if s != StageSeccomp {
			last = ph
		}
	}
	if StageSeccomp.Phase() != PhasePrivilege || StageGate.Phase() != PhaseGate || StageExec.Phase() != PhaseExec {
		t.Error("seccomp, gate or exec in the wrong phase")
	}
	if StageNone.Phase() != PhaseNone || numStages.Phase() != PhaseNone || numStages.String() == "" {
		t.Error("out-of-range stages")
	}
	if numStages > 256 {
		t.Errorf("%d stages: a step keeps its stage in a uint8", numStages)
	}
}
