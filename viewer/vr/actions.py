"""OpenXR actions for VR mode, with suggested bindings for the common controllers.

The application names what it wants (aim, a 2D stick, teleport, next/previous epoch, heatmap,
scale, recenter, a haptic pulse) and suggests, per interaction profile, which buttons do it;
the runtime binds them to whatever controller is in the user's hands (and lets the user rebind
them). `BINDINGS` below is the table (docs/VR.md has it for people): trigger (select on the
simple controller) aims and teleports, the thumbstick (Vive: trackpad) aims and snap-turns, the
face or menu buttons switch epochs, the heatmap and the scale.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import xr

from viewer.vr.interaction import HandInput, InputFrame, Pose

log = logging.getLogger(__name__)

HANDS = ("left", "right")
BOOLEAN_ACTIONS = ("next_epoch", "previous_epoch", "heatmap", "scale", "recenter", "compare",
                   "significant", "calibrate", "select")

_L, _R = "/user/hand/left", "/user/hand/right"


def _both(component: str) -> list[str]:
    return [f"{_L}{component}", f"{_R}{component}"]


def _touch_like(squeeze: str = "/input/squeeze/value", menu: bool = True,
                stick_click: bool = True) -> dict[str, list[str]]:
    """Controllers laid out like Meta's Touch: X/Y on the left, A/B on the right, a stick, a
    trigger and a grip on each, a menu button on the left."""
    binds = {
        "aim": _both("/input/aim/pose"),
        "stick": _both("/input/thumbstick"),
        "teleport": _both("/input/trigger/value"),
        "next_epoch": [f"{_R}/input/a/click"],
        "previous_epoch": [f"{_L}/input/x/click"],
        "heatmap": [f"{_R}/input/b/click"],
        "scale": [f"{_L}/input/y/click"],
        "select": [f"{_R}{squeeze}"],
        "calibrate": [f"{_L}{squeeze}"],
        "haptic": _both("/output/haptic"),
    }
    if menu:
        binds["recenter"] = [f"{_L}/input/menu/click"]
    if stick_click:
        binds["compare"] = [f"{_R}/input/thumbstick/click"]
        binds["significant"] = [f"{_L}/input/thumbstick/click"]
    return binds


#: profile -> action -> binding paths
BINDINGS: dict[str, dict[str, list[str]]] = {
    "/interaction_profiles/khr/simple_controller": {
        "aim": _both("/input/aim/pose"),
        "teleport": _both("/input/select/click"),
        "next_epoch": [f"{_R}/input/menu/click"],
        "scale": [f"{_L}/input/menu/click"],
        "haptic": _both("/output/haptic"),
    },
    "/interaction_profiles/oculus/touch_controller": _touch_like(),
    "/interaction_profiles/valve/index_controller": {
        "aim": _both("/input/aim/pose"),
        "stick": _both("/input/thumbstick"),
        "teleport": _both("/input/trigger/click"),
        "next_epoch": [f"{_R}/input/a/click"],
        "previous_epoch": [f"{_L}/input/a/click"],
        "heatmap": [f"{_R}/input/b/click"],
        "scale": [f"{_L}/input/b/click"],
        "recenter": [f"{_L}/input/thumbstick/click"],
        "select": [f"{_R}/input/squeeze/value"],
        "compare": [f"{_R}/input/thumbstick/click"],
        "significant": [f"{_L}/input/squeeze/value"],
        "haptic": _both("/output/haptic"),
    },
    "/interaction_profiles/htc/vive_controller": {
        "aim": _both("/input/aim/pose"),
        "stick": _both("/input/trackpad"),
        "teleport": _both("/input/trigger/click"),
        "next_epoch": [f"{_R}/input/menu/click"],
        "previous_epoch": [f"{_L}/input/menu/click"],
        "heatmap": [f"{_R}/input/squeeze/click"],
        "scale": [f"{_L}/input/squeeze/click"],
        "haptic": _both("/output/haptic"),
    },
    "/interaction_profiles/microsoft/motion_controller": {
        "aim": _both("/input/aim/pose"),
        "stick": _both("/input/thumbstick"),
        "teleport": _both("/input/trigger/value"),
        "next_epoch": [f"{_R}/input/menu/click"],
        "previous_epoch": [f"{_L}/input/menu/click"],
        "heatmap": [f"{_R}/input/trackpad/click"],
        "scale": [f"{_L}/input/trackpad/click"],
        "recenter": [f"{_L}/input/thumbstick/click"],
        "select": [f"{_R}/input/squeeze/click"],
        "compare": [f"{_R}/input/thumbstick/click"],
        "significant": [f"{_L}/input/squeeze/click"],
        "haptic": _both("/output/haptic"),
    },
    # profiles that come with an instance extension (enabled when the runtime offers it)
    "/interaction_profiles/meta/touch_controller_plus": _touch_like(),
    "/interaction_profiles/facebook/touch_controller_pro": _touch_like(),
    "/interaction_profiles/hp/mixed_reality_controller": _touch_like(stick_click=False),
    "/interaction_profiles/htc/vive_cosmos_controller": _touch_like("/input/squeeze/click"),
    "/interaction_profiles/htc/vive_focus3_controller": _touch_like("/input/squeeze/click"),
    "/interaction_profiles/bytedance/pico4_controller": _touch_like(),
    "/interaction_profiles/bytedance/pico_neo3_controller": _touch_like(),
}

#: the instance extension each profile above needs (the others are core OpenXR 1.0)
PROFILE_EXTENSIONS = {
    "/interaction_profiles/meta/touch_controller_plus": "XR_META_touch_controller_plus",
    "/interaction_profiles/facebook/touch_controller_pro": "XR_FB_touch_controller_pro",
    "/interaction_profiles/hp/mixed_reality_controller": "XR_EXT_hp_mixed_reality_controller",
    "/interaction_profiles/htc/vive_cosmos_controller":
        "XR_HTC_vive_cosmos_controller_interaction",
    "/interaction_profiles/htc/vive_focus3_controller":
        "XR_HTC_vive_focus3_controller_interaction",
    "/interaction_profiles/bytedance/pico4_controller": "XR_BD_controller_interaction",
    "/interaction_profiles/bytedance/pico_neo3_controller": "XR_BD_controller_interaction",
}

_TYPES = {
    "aim": (xr.ActionType.POSE_INPUT, "Aim", True),
    "stick": (xr.ActionType.VECTOR2F_INPUT, "Teleport and turn stick", True),
    "teleport": (xr.ActionType.BOOLEAN_INPUT, "Teleport", True),
    "next_epoch": (xr.ActionType.BOOLEAN_INPUT, "Next epoch", False),
    "previous_epoch": (xr.ActionType.BOOLEAN_INPUT, "Previous epoch", False),
    "heatmap": (xr.ActionType.BOOLEAN_INPUT, "Change heatmap on/off", False),
    "scale": (xr.ActionType.BOOLEAN_INPUT, "Miniature / life size", False),
    "recenter": (xr.ActionType.BOOLEAN_INPUT, "Recenter", False),
    "compare": (xr.ActionType.BOOLEAN_INPUT, "Compare with an earlier epoch", False),
    "significant": (xr.ActionType.BOOLEAN_INPUT, "Significant change only", False),
    "calibrate": (xr.ActionType.BOOLEAN_INPUT, "Eye height calibration", False),
    "select": (xr.ActionType.BOOLEAN_INPUT, "Read what the hand points at", False),
    "haptic": (xr.ActionType.VIBRATION_OUTPUT, "Haptic pulse", True),
}

_POSE_VALID = (xr.SpaceLocationFlags.POSITION_VALID_BIT
               | xr.SpaceLocationFlags.ORIENTATION_VALID_BIT)


def locate(space: xr.Space, base: xr.Space, time: int) -> Pose | None:
    """A space's pose in `base` at `time`, or None while it is not tracked."""
    loc = xr.locate_space(space, base, time)
    if (loc.location_flags & _POSE_VALID) != _POSE_VALID:
        return None
    p, o = loc.pose.position, loc.pose.orientation
    return Pose((p.x, p.y, p.z), (o.x, o.y, o.z, o.w))


@dataclass
class ProfileResult:
    profile: str
    accepted: bool
    reason: str = ""


class Actions:
    """The action set: created, bound and attached to a session; `sync` reads it each frame."""

    def __init__(self, instance: xr.Instance, session: xr.Session,
                 enabled_extensions: frozenset[str] = frozenset()):
        self.instance, self.session = instance, session
        self.paths = {h: xr.string_to_path(instance, p) for h, p in zip(HANDS, (_L, _R),
                                                                         strict=True)}
        self.action_set = xr.create_action_set(instance, xr.ActionSetCreateInfo(
            action_set_name="stadtzeit", localized_action_set_name="stadtzeit VR", priority=0))
        self.actions: dict[str, xr.Action] = {}
        for name, (kind, label, per_hand) in _TYPES.items():
            subpaths = [self.paths[h] for h in HANDS] if per_hand else None
            self.actions[name] = xr.create_action(self.action_set, xr.ActionCreateInfo(
                action_type=kind, action_name=name.replace("_", "-"),
                localized_action_name=label, subaction_paths=subpaths))
        self.profiles = [
            self._suggest(profile, binds) if PROFILE_EXTENSIONS.get(profile, "") in
            enabled_extensions | {""} else
            ProfileResult(profile, False, f"the runtime lacks {PROFILE_EXTENSIONS[profile]}")
            for profile, binds in BINDINGS.items()]
        xr.attach_session_action_sets(session, xr.SessionActionSetsAttachInfo(
            action_sets=[self.action_set]))
        self.aim_spaces = {h: xr.create_action_space(session, xr.ActionSpaceCreateInfo(
            action=self.actions["aim"], subaction_path=self.paths[h])) for h in HANDS}
        self._active = (xr.ActiveActionSet * 1)(xr.ActiveActionSet(self.action_set,
                                                                   xr.NULL_PATH))

    def _suggest(self, profile: str, binds: dict[str, list[str]]) -> ProfileResult:
        pairs = [xr.ActionSuggestedBinding(self.actions[a], xr.string_to_path(self.instance, p))
                 for a, paths in binds.items() for p in paths]
        try:
            xr.suggest_interaction_profile_bindings(
                self.instance, xr.InteractionProfileSuggestedBinding(
                    interaction_profile=xr.string_to_path(self.instance, profile),
                    suggested_bindings=(xr.ActionSuggestedBinding * len(pairs))(*pairs)))
        except xr.XrException as exc:   # a runtime may not know a profile: skip it, say so
            log.info("bindings for %s not accepted: %s", profile, exc)
            return ProfileResult(profile, False, str(exc))
        return ProfileResult(profile, True)

    def sync(self, base: xr.Space, time: int, now: float, head: Pose | None,
             focused: bool) -> InputFrame:
        """Read every action once for this frame (inactive input when the session is not
        focused: another application has the controllers)."""
        frame = InputFrame(time=now, head=head)
        if not focused:
            return frame
        sync_info = xr.ActionsSyncInfo(count_active_action_sets=1,
                                       active_action_sets=self._active)
        try:
            xr.sync_actions(self.session, sync_info)
        except xr.SessionNotFocused:      # focus went between our last event and this call
            return frame
        for h in HANDS:
            hand = HandInput()
            info = xr.ActionStateGetInfo(action=self.actions["aim"], subaction_path=self.paths[h])
            if xr.get_action_state_pose(self.session, info).is_active:
                hand.aim = locate(self.aim_spaces[h], base, time)
            stick = xr.get_action_state_vector2f(self.session, xr.ActionStateGetInfo(
                action=self.actions["stick"], subaction_path=self.paths[h]))
            if stick.is_active:
                hand.stick = (stick.current_state.x, stick.current_state.y)
            tp = xr.get_action_state_boolean(self.session, xr.ActionStateGetInfo(
                action=self.actions["teleport"], subaction_path=self.paths[h]))
            hand.teleport = bool(tp.is_active and tp.current_state)
            setattr(frame, h, hand)
        for name in BOOLEAN_ACTIONS:
            st = xr.get_action_state_boolean(self.session, xr.ActionStateGetInfo(
                action=self.actions[name], subaction_path=xr.NULL_PATH))
            setattr(frame, name, bool(st.is_active and st.current_state))
        return frame

    def pulse(self, hand: str, amplitude: float = 0.5, seconds: float = 0.03) -> None:
        vib = xr.HapticVibration(duration=int(seconds * 1e9), frequency=xr.FREQUENCY_UNSPECIFIED,
                                 amplitude=amplitude)
        try:
            xr.apply_haptic_feedback(self.session, xr.HapticActionInfo(
                action=self.actions["haptic"], subaction_path=self.paths[hand]), vib)
        except xr.XrException as exc:   # haptics are a nicety; never stop a frame for them
            log.debug("haptic pulse failed: %s", exc)

    def current_profiles(self) -> dict[str, str]:
        """The interaction profile bound to each hand ('' when none)."""
        out = {}
        for h in HANDS:
            try:
                state = xr.get_current_interaction_profile(self.session, self.paths[h])
                out[h] = (xr.path_to_string(self.instance, state.interaction_profile)
                          if state.interaction_profile else "")
            except xr.XrException:
                out[h] = ""
        return out

    def destroy(self) -> None:
        for space in self.aim_spaces.values():
            xr.destroy_space(space)
        xr.destroy_action_set(self.action_set)   # destroys its actions too

