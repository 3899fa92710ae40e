// Injected before a published page's own scripts (benchmarks/bench_share.py --page): the same
// milestones for any version of the page, in ms since navigation started.
(() => {
  const p = window.__probe = {frames: 0};
  const now = () => Math.round(performance.now());
  const shown = (s) => s.epochSets[s.data.epochs[s.data.epochs.length - 1].id];
  const poll = setInterval(() => {
    if (!p.cesium && window.Cesium) p.cesium = now();            // Cesium.js parsed and run
    const s = window.stadtzeit;
    if (!s || !s.viewer) return;
    if (!p.viewer) {                                             // the Viewer exists
      p.viewer = now();
      let began = 0;
      p.frameMs = 0;                                              // time spent rendering
      s.viewer.scene.preRender.addEventListener(() => { began = performance.now(); });
      s.viewer.scene.postRender.addEventListener(() => {
        p.frames += 1;
        p.frameMs += Math.round(performance.now() - began);
        if (p.visible && !p.firstDrawn) p.firstDrawn = now();    // a frame with tiles in it
        const set = shown(s);
        if (p.firstDrawn && !p.loaded && set && set.show && set.tilesLoaded &&
            (!s.viewer.scene.globe || s.viewer.scene.globe.tilesLoaded)) p.loaded = now();
      });
    }
    const set = shown(s);
    if (set && !p.tileset) {                                     // its tileset.json is in
      p.tileset = now();
      set.tileVisible.addEventListener(() => { p.visible = p.visible || now(); });
    }
    if (p.loaded) clearInterval(poll);
  }, 5);
})();
