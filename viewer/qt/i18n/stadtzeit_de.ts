<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="de_DE" sourcelanguage="en">
<context>
    <name>AnnotationOverlay</name>
    <message>
        <location filename="../../desktop/annotations.py" line="73" />
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <location filename="../../desktop/annotations.py" line="170" />
        <source>(only in English)</source>
        <translation>(nur auf Englisch)</translation>
    </message>
    <message>
        <location filename="../../desktop/annotations.py" line="171" />
        <source>(only in German)</source>
        <translation>(only in German)</translation>
    </message>
</context>
<context>
    <name>ChangeCard</name>
    <message>
        <location filename="../../kiosk/site.py" line="314" />
        <source>What changed?</source>
        <translation>Was hat sich verändert?</translation>
    </message>
    <message>
        <location filename="../../kiosk/site.py" line="319" />
        <source>Looking for changes…</source>
        <translation>Veränderungen werden gesucht…</translation>
    </message>
    <message>
        <location filename="../../kiosk/site.py" line="327" />
        <source>Red: higher or new since %1. Blue: lower or gone. Grey: no real change.</source>
        <translation>Rot: höher oder neu seit %1. Blau: niedriger oder verschwunden. Grau: keine echte Veränderung.</translation>
    </message>
    <message>
        <location filename="../../kiosk/site.py" line="334" />
        <source>No larger changed areas between %1 and %2.</source>
        <translation>Keine größeren Veränderungen zwischen %1 und %2.</translation>
    </message>
</context>
<context>
    <name>CompareBar</name>
    <message>
        <location filename="../../desktop/compare.py" line="72" />
        <source>Single</source>
        <translation>Einzeln</translation>
    </message>
    <message>
        <location filename="../../desktop/compare.py" line="72" />
        <source>One epoch (1)</source>
        <translation>Eine Epoche (1)</translation>
    </message>
    <message>
        <location filename="../../desktop/compare.py" line="73" />
        <source>Side by side</source>
        <translation>Nebeneinander</translation>
    </message>
    <message>
        <location filename="../../desktop/compare.py" line="74" />
        <source>Epochs A and B side by side with linked cameras (2)</source>
        <translation>Epochen A und B nebeneinander mit gekoppelten Kameras (2)</translation>
    </message>
    <message>
        <location filename="../../desktop/compare.py" line="76" />
        <source>Overlay</source>
        <translation>Überlagerung</translation>
    </message>
    <message>
        <location filename="../../desktop/compare.py" line="77" />
        <source>B over A with adjustable opacity (3)</source>
        <translation>B über A mit einstellbarer Deckkraft (3)</translation>
    </message>
    <message>
        <location filename="../../desktop/compare.py" line="78" />
        <source>Swipe</source>
        <translation>Wischen</translation>
    </message>
    <message>
        <location filename="../../desktop/compare.py" line="79" />
        <source>A left, B right of a draggable divider (4)</source>
        <translation>A links, B rechts einer verschiebbaren Trennlinie (4)</translation>
    </message>
    <message>
        <location filename="../../desktop/compare.py" line="80" />
        <source>Change</source>
        <translation>Änderung</translation>
    </message>
    <message>
        <location filename="../../desktop/compare.py" line="81" />
        <source>Change from A to B as a colour map (5)</source>
        <translation>Änderung von A zu B als Farbkarte (5)</translation>
    </message>
    <message>
        <location filename="../../desktop/compare.py" line="85" />
        <source>A:</source>
        <translation>A:</translation>
    </message>
    <message>
        <location filename="../../desktop/compare.py" line="86" />
        <source> B:</source>
        <translation> B:</translation>
    </message>
    <message>
        <location filename="../../desktop/compare.py" line="87" />
        <source>Reference epoch A</source>
        <translation>Bezugsepoche A</translation>
    </message>
    <message>
        <location filename="../../desktop/compare.py" line="88" />
        <source>Compared epoch B</source>
        <translation>Verglichene Epoche B</translation>
    </message>
    <message>
        <location filename="../../desktop/compare.py" line="89" />
        <source>Opacity of B</source>
        <translation>Deckkraft von B</translation>
    </message>
    <message>
        <location filename="../../desktop/compare.py" line="105" />
        <source>This site has one epoch: there is nothing to compare yet.</source>
        <translation>Dieser Ort hat eine Epoche: Noch gibt es nichts zu vergleichen.</translation>
    </message>
</context>
<context>
    <name>ErrorCard</name>
    <message>
        <location filename="../../kiosk/window.py" line="134" />
        <source>OK</source>
        <translation>OK</translation>
    </message>
</context>
<context>
    <name>ExportDialog</name>
    <message>
        <location filename="../../desktop/export_dialog.py" line="129" />
        <location filename="../../desktop/export_dialog.py" line="168" />
        <source>Export</source>
        <translation>Exportieren</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="136" />
        <source>Still image (PNG)</source>
        <translation>Standbild (PNG)</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="136" />
        <source>Before / after (folder of PNGs)</source>
        <translation>Vorher / nachher (Ordner mit PNGs)</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="137" />
        <source>Video: turntable</source>
        <translation>Video: Rundflug</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="137" />
        <source>Video: all epochs</source>
        <translation>Video: alle Zeitstufen</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="138" />
        <source>3D model (GLB, OBJ, PLY, LAZ)</source>
        <translation>3D-Modell (GLB, OBJ, PLY, LAZ)</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="138" />
        <source>3D print (STL, 3MF)</source>
        <translation>3D-Druck (STL, 3MF)</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="139" />
        <source>Lesson pack (folder and ZIP)</source>
        <translation>Unterrichtspaket (Ordner und ZIP)</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="145" />
        <source>Transparent background</source>
        <translation>Transparenter Hintergrund</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="146" />
        <source>Caption with site, date and credit</source>
        <translation>Bildunterschrift mit Ort, Datum und Quelle</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="153" />
        <source>Choose…</source>
        <translation>Wählen…</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="175" />
        <source>What</source>
        <translation>Was</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="176" />
        <source>Size</source>
        <translation>Größe</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="179" />
        <source>Print scale</source>
        <translation>Druckmaßstab</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="180" />
        <source>Save as</source>
        <translation>Speichern unter</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="190" />
        <source>Every file carries the licence %1 and the credit “%2”.</source>
        <translation>Jede Datei trägt die Lizenz %1 und die Quellenangabe „%2“.</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="221" />
        <source>Export into folder</source>
        <translation>In Ordner exportieren</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="225" />
        <source>Export as</source>
        <translation>Exportieren als</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="254" />
        <source>Exporting…</source>
        <translation>Exportiere…</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="270" />
        <source>Cancelling…</source>
        <translation>Breche ab…</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="289" />
        <source>Written: %1</source>
        <translation>Geschrieben: %1</translation>
    </message>
    <message>
        <location filename="../../desktop/export_dialog.py" line="296" />
        <source>Cancelled: nothing was written.</source>
        <translation>Abgebrochen: Es wurde nichts geschrieben.</translation>
    </message>
</context>
<context>
    <name>HeatmapPanel</name>
    <message>
        <location filename="../../desktop/heatmap.py" line="201" />
        <source>DEM difference (DoD, ground and roofs from above)</source>
        <translation>DGM-Differenz (DoD, Boden und Dächer von oben)</translation>
    </message>
    <message>
        <location filename="../../desktop/heatmap.py" line="202" />
        <source>M3C2 (3D distance along the surface normal)</source>
        <translation>M3C2 (3D-Abstand entlang der Flächennormale)</translation>
    </message>
    <message>
        <location filename="../../desktop/heatmap.py" line="203" />
        <source>Cloud-to-mesh distance (C2M)</source>
        <translation>Abstand Punktwolke–Netz (C2M)</translation>
    </message>
    <message>
        <location filename="../../desktop/heatmap.py" line="204" />
        <source>Cloud-to-cloud distance (C2C)</source>
        <translation>Abstand Punktwolke–Punktwolke (C2C)</translation>
    </message>
    <message>
        <location filename="../../desktop/heatmap.py" line="209" />
        <source>Significant change only</source>
        <translation>Nur signifikante Änderungen</translation>
    </message>
    <message>
        <location filename="../../desktop/heatmap.py" line="211" />
        <source>Grey out change smaller than the level of detection (95 %)</source>
        <translation>Änderungen unterhalb der Nachweisgrenze (95 %) grau darstellen</translation>
    </message>
    <message>
        <location filename="../../desktop/heatmap.py" line="212" />
        <source>Change (m)</source>
        <translation>Änderung (m)</translation>
    </message>
    <message>
        <location filename="../../desktop/heatmap.py" line="228" />
        <location filename="../../desktop/heatmap.py" line="254" />
        <source>Change from A (%1) to B (%2)</source>
        <translation>Änderung von A (%1) zu B (%2)</translation>
    </message>
    <message>
        <location filename="../../desktop/heatmap.py" line="233" />
        <source>Choose the Change mode to compute or load the change.</source>
        <translation>Wählen Sie den Modus „Änderung“, um die Änderung zu laden oder zu berechnen.</translation>
    </message>
    <message>
        <location filename="../../desktop/heatmap.py" line="241" />
        <source>Showing significant change only: change smaller than the level of detection is grey.</source>
        <translation>Nur signifikante Änderungen: Änderungen unter der Nachweisgrenze sind grau.</translation>
    </message>
    <message>
        <location filename="../../desktop/heatmap.py" line="247" />
        <source>Showing all change, small change included.</source>
        <translation>Alle Änderungen, auch kleine, werden gezeigt.</translation>
    </message>
    <message>
        <location filename="../../desktop/heatmap.py" line="275" />
        <source>The mesh of %1 could not be read, so these values cannot be drawn (see the message above the view).</source>
        <translation>Das Modell von %1 konnte nicht gelesen werden, daher lassen sich diese Werte nicht darstellen (siehe die Meldung über der Ansicht).</translation>
    </message>
    <message>
        <location filename="../../desktop/heatmap.py" line="279" />
        <source>%1 % of the surface has no value (dark grey): not seen in both scans.</source>
        <translation>%1 % der Oberfläche haben keinen Wert (dunkelgrau): nicht in beiden Scans erfasst.</translation>
    </message>
    <message>
        <location filename="../../desktop/heatmap.py" line="266" />
        <source>Level of detection: %1</source>
        <translation>Nachweisgrenze: %1</translation>
    </message>
    <message>
        <location filename="../../desktop/heatmap.py" line="213" />
        <source>Vertices (log)</source>
        <translation>Eckpunkte (log.)</translation>
    </message>
    <message>
        <location filename="../../desktop/heatmap.py" line="269" />
        <source>No level of detection is known for this product.</source>
        <translation>Für dieses Produkt ist keine Nachweisgrenze bekannt.</translation>
    </message>
    <message>
        <location filename="../../desktop/heatmap.py" line="271" />
        <source>Method: %1</source>
        <translation>Verfahren: %1</translation>
    </message>
    <message>
        <location filename="../../desktop/heatmap.py" line="273" />
        <source>Computed by the viewer (not stored in the archive).</source>
        <translation>Vom Viewer berechnet (nicht im Archiv gespeichert).</translation>
    </message>
</context>
<context>
    <name>HomeScreen</name>
    <message>
        <location filename="../../kiosk/home.py" line="124" />
        <source>Places over time</source>
        <translation>Orte im Wandel der Zeit</translation>
    </message>
    <message>
        <location filename="../../kiosk/home.py" line="125" />
        <source>Choose a place and see how it has changed.</source>
        <translation>Wählen Sie einen Ort und sehen Sie, wie er sich verändert hat.</translation>
    </message>
    <message>
        <location filename="../../kiosk/home.py" line="126" />
        <source>No places to show yet.</source>
        <translation>Noch keine Orte zum Zeigen.</translation>
    </message>
</context>
<context>
    <name>InfoPanel</name>
    <message>
        <location filename="../../desktop/info_panel.py" line="44" />
        <source>airborne LiDAR</source>
        <translation>Flugzeuggetragenes LiDAR</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="45" />
        <source>terrestrial LiDAR</source>
        <translation>Terrestrisches LiDAR</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="46" />
        <source>mobile LiDAR</source>
        <translation>Mobiles LiDAR</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="47" />
        <location filename="../../desktop/info_panel.py" line="52" />
        <source>photogrammetry</source>
        <translation>Photogrammetrie</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="51" />
        <source>airborne LiDAR (als)</source>
        <translation>Airborne-LiDAR (als)</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="51" />
        <source>terrestrial LiDAR (tls)</source>
        <translation>terrestrisches LiDAR (tls)</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="52" />
        <source>mobile LiDAR (mls)</source>
        <translation>mobiles LiDAR (mls)</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="56" />
        <source>ICP, point to plane</source>
        <translation>ICP, Punkt zu Ebene</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="57" />
        <source>ICP, point to point</source>
        <translation>ICP, Punkt zu Punkt</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="57" />
        <source>ICP</source>
        <translation>ICP</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="61" />
        <source>Sources</source>
        <translation>Quellen</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="61" />
        <source>Preset</source>
        <translation>Voreinstellung</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="62" />
        <location filename="../../desktop/info_panel.py" line="161" />
        <source>Registration</source>
        <translation>Registrierung</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="62" />
        <source>Points</source>
        <translation>Punkte</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="63" />
        <source>Software</source>
        <translation>Software</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="63" />
        <source>Events</source>
        <translation>Ereignisse</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="64" />
        <source>Processed</source>
        <translation>Verarbeitet</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="64" />
        <source>Provenance</source>
        <translation>Herkunft</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="94" />
        <source>reference epoch (the others are aligned to it)</source>
        <translation>Referenzepoche (die anderen sind an ihr ausgerichtet)</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="98" />
        <source>aligned to %1</source>
        <translation>ausgerichtet an %1</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="100" />
        <source>mode: %1</source>
        <translation>Modus: %1</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="105" />
        <source>residual %1 (RMS)</source>
        <translation>Restfehler %1 (RMS)</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="111" />
        <source>stable share %1 %</source>
        <translation>stabiler Anteil %1 %</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="112" />
        <source>overlap %1 %</source>
        <translation>Überlappung %1 %</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="121" />
        <source>accepted by force (check it)</source>
        <translation>erzwungen übernommen (bitte prüfen)</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="128" />
        <source>Choose a site from the list.</source>
        <translation>Wählen Sie einen Ort aus der Liste.</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="131" />
        <source>Coordinate system</source>
        <translation>Koordinatensystem</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="131" />
        <source>Origin</source>
        <translation>Ursprung</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="132" />
        <source>Archive version</source>
        <translation>Archivversion</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="132" />
        <source>Epochs</source>
        <translation>Epochen</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="133" />
        <source>(only in English)</source>
        <translation>(nur auf Englisch)</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="133" />
        <source>(only in German)</source>
        <translation>(only in German)</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="146" />
        <source>shown</source>
        <translation>angezeigt</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="151" />
        <source>Capture</source>
        <translation>Erfassung</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="152" />
        <source>Sensor</source>
        <translation>Sensor</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="152" />
        <source>Operator</source>
        <translation>Betreiber</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="154" />
        <source>Meshes</source>
        <translation>Modelle</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="156" />
        <source>damaged</source>
        <translation>beschädigt</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="157" />
        <source>triangles</source>
        <translation>Dreiecke</translation>
    </message>
    <message>
        <location filename="../../desktop/info_panel.py" line="168" />
        <source>Points of interest</source>
        <translation>Sehenswertes</translation>
    </message>
</context>
<context>
    <name>KioskWindow</name>
    <message>
        <location filename="../../kiosk/window.py" line="470" />
        <source>Sorry</source>
        <translation>Entschuldigung</translation>
    </message>
    <message>
        <location filename="../../kiosk/window.py" line="471" />
        <source>Something could not be shown here. Please choose another place or year.</source>
        <translation>Etwas konnte hier nicht gezeigt werden. Bitte wählen Sie einen anderen Ort oder ein anderes Jahr.</translation>
    </message>
    <message>
        <location filename="../../kiosk/window.py" line="474" />
        <source>This model is being restored</source>
        <translation>Dieses Modell wird gerade restauriert</translation>
    </message>
    <message>
        <location filename="../../kiosk/window.py" line="475" />
        <source>Please choose another year on the timeline.</source>
        <translation>Bitte wählen Sie ein anderes Jahr auf der Zeitleiste.</translation>
    </message>
    <message>
        <location filename="../../kiosk/window.py" line="521" />
        <source>Before: %1</source>
        <translation>Vorher: %1</translation>
    </message>
    <message>
        <location filename="../../kiosk/window.py" line="523" />
        <source>After: %1</source>
        <translation>Nachher: %1</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../desktop/main_window.py" line="352" />
        <source>stadtzeit – places over time</source>
        <translation>stadtzeit – Orte im Wandel der Zeit</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="354" />
        <source>&amp;Open archive…</source>
        <translation>Archiv ö&amp;ffnen…</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="354" />
        <source>Save &amp;screenshot…</source>
        <translation>&amp;Bildschirmfoto speichern…</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="355" />
        <source>&amp;Export…</source>
        <translation>&amp;Exportieren…</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="356" />
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="356" />
        <source>&amp;Reset view</source>
        <translation>Ansicht &amp;zurücksetzen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="357" />
        <source>&amp;Fly mode (WASD)</source>
        <translation>&amp;Flugmodus (WASD)</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="357" />
        <source>Keyboard &amp;shortcuts</source>
        <translation>&amp;Tastenkürzel</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="358" />
        <source>F&amp;ull screen</source>
        <translation>&amp;Vollbild</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="358" />
        <source>&amp;Larger text</source>
        <translation>&amp;Größere Schrift</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="359" />
        <source>&amp;Previous epoch</source>
        <translation>&amp;Vorherige Epoche</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="360" />
        <source>&amp;Next epoch</source>
        <translation>&amp;Nächste Epoche</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="360" />
        <source>Play / &amp;pause</source>
        <translation>Abspielen / &amp;Pause</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="361" />
        <source>&amp;Single epoch</source>
        <translation>&amp;Einzelne Epoche</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="361" />
        <source>Side &amp;by side</source>
        <translation>&amp;Nebeneinander</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="362" />
        <source>&amp;Overlay</source>
        <translation>Über&amp;lagerung</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="362" />
        <source>S&amp;wipe</source>
        <translation>&amp;Wischen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="363" />
        <source>&amp;Change heatmap</source>
        <translation>Änderungs-&amp;Heatmap</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="363" />
        <source>&amp;Distance</source>
        <translation>&amp;Abstand</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="364" />
        <source>&amp;Height difference</source>
        <translation>&amp;Höhenunterschied</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="364" />
        <source>&amp;Area</source>
        <translation>&amp;Fläche</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="365" />
        <location filename="../../desktop/main_window.py" line="381" />
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="365" />
        <source>Save view</source>
        <translation>Ansicht speichern</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="366" />
        <location filename="../../desktop/main_window.py" line="408" />
        <source>Search sites</source>
        <translation>Orte suchen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="366" />
        <source>Switch language</source>
        <translation>Sprache wechseln</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="370" />
        <source>&amp;File</source>
        <translation>&amp;Datei</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="370" />
        <source>&amp;View</source>
        <translation>&amp;Ansicht</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="371" />
        <source>&amp;Compare</source>
        <translation>&amp;Vergleichen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="371" />
        <source>&amp;Measure</source>
        <translation>&amp;Messen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="372" />
        <source>&amp;Language</source>
        <translation>&amp;Sprache</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="372" />
        <source>&amp;Help</source>
        <translation>&amp;Hilfe</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="375" />
        <source>Sites</source>
        <translation>Orte</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="376" />
        <source>Details</source>
        <translation>Details</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="377" />
        <source>Information</source>
        <translation>Informationen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="377" />
        <source>Change</source>
        <translation>Änderung</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="378" />
        <source>Measure</source>
        <translation>Messen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="378" />
        <source>Views</source>
        <translation>Ansichten</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="380" />
        <source>Changed regions</source>
        <translation>Geänderte Bereiche</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="382" />
        <source>Keyboard shortcuts</source>
        <translation>Tastenkürzel</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="383" />
        <source>Click anywhere or press F1 to close</source>
        <translation>Zum Schließen irgendwo klicken oder F1 drücken</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="390" />
        <source>Left drag</source>
        <translation>Linke Maustaste ziehen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="390" />
        <source>Orbit</source>
        <translation>Drehen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="391" />
        <source>Right drag / wheel</source>
        <translation>Rechte Maustaste ziehen / Mausrad</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="391" />
        <source>Zoom</source>
        <translation>Zoomen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="392" />
        <source>Middle drag / Shift+left drag</source>
        <translation>Mittlere Maustaste / Umschalt+links ziehen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="392" />
        <source>Pan</source>
        <translation>Verschieben</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="393" />
        <source>Click</source>
        <translation>Klick</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="393" />
        <source>Pick a point when measuring; open a hotspot</source>
        <translation>Beim Messen einen Punkt wählen; einen Hinweis öffnen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="394" />
        <source>Pinch / two-finger turn / drag</source>
        <translation>Zwei Finger spreizen / drehen / ziehen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="394" />
        <source>Zoom / turn / move (touch)</source>
        <translation>Zoomen / drehen / verschieben (Touch)</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="395" />
        <source>Reset view</source>
        <translation>Ansicht zurücksetzen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="396" />
        <source>Fly mode on/off</source>
        <translation>Flugmodus ein/aus</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="397" />
        <source>Fly forward, left, back, right</source>
        <translation>Vorwärts, links, rückwärts, rechts fliegen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="398" />
        <source>Fly down / up (Shift: faster)</source>
        <translation>Nach unten / oben fliegen (Umschalt: schneller)</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="399" />
        <source>Fly mode: turn left / right, look up / down</source>
        <translation>Flugmodus: nach links / rechts drehen, nach oben / unten sehen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="400" />
        <source>Enter</source>
        <translation>Eingabe</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="400" />
        <source>Measuring: pick the point at the centre of the view</source>
        <translation>Messen: den Punkt in der Bildmitte wählen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="401" />
        <source>Move between the controls and the 3D view</source>
        <translation>Zwischen den Bedienelementen und der 3D-Ansicht wechseln</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="402" />
        <source>Previous / next epoch</source>
        <translation>Vorherige / nächste Epoche</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="403" />
        <source>Space</source>
        <translation>Leertaste</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="403" />
        <source>Play through the epochs</source>
        <translation>Die Epochen nacheinander abspielen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="404" />
        <source>Single, side by side, overlay, swipe, change heatmap</source>
        <translation>Einzeln, nebeneinander, Überlagerung, Wischen, Änderungs-Heatmap</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="405" />
        <source>Measure distance / height / area</source>
        <translation>Abstand / Höhe / Fläche messen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="406" />
        <source>Stop measuring, leave fly mode, close help, leave the 3D view</source>
        <translation>Messen beenden, Flugmodus verlassen, Hilfe schließen, 3D-Ansicht verlassen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="407" />
        <source>Save the current view in the archive</source>
        <translation>Die aktuelle Ansicht im Archiv speichern</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="409" />
        <source>Switch language Deutsch / English</source>
        <translation>Sprache wechseln: Deutsch / Englisch</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="410" />
        <source>Save a screenshot</source>
        <translation>Ein Bildschirmfoto speichern</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="411" />
        <source>Full screen</source>
        <translation>Vollbild</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="412" />
        <source>This help</source>
        <translation>Diese Hilfe</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="428" />
        <source>There is no site “%1” in this archive.</source>
        <translation>In diesem Archiv gibt es keinen Ort „%1“.</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="435" />
        <source>Site %1 has no epoch %2.</source>
        <translation>Ort %1 hat keine Epoche %2.</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="446" />
        <source>No site open</source>
        <translation>Kein Ort geöffnet</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="449" />
        <source>licence not stated</source>
        <translation>Lizenz nicht angegeben</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="450" />
        <source>attribution not stated</source>
        <translation>Namensnennung nicht angegeben</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="451" />
        <source>Licence</source>
        <translation>Lizenz</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="451" />
        <source>Attribution</source>
        <translation>Namensnennung</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="477" />
        <source>Loading %1</source>
        <translation>Lade %1</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="478" />
        <source>Loading…</source>
        <translation>Lade…</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="530" />
        <source>No surface under the centre of the view: turn or move the view first.</source>
        <translation>Keine Oberfläche in der Bildmitte: Ansicht zuerst drehen oder verschieben.</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="571" />
        <source>Open archive</source>
        <translation>Archiv öffnen</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="581" />
        <source>Open a site first, then export it.</source>
        <translation>Öffnen Sie zuerst einen Ort, dann können Sie ihn exportieren.</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="588" />
        <source>Save screenshot</source>
        <translation>Bildschirmfoto speichern</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="589" />
        <source>PNG images (*.png)</source>
        <translation>PNG-Bilder (*.png)</translation>
    </message>
    <message>
        <location filename="../../desktop/main_window.py" line="607" />
        <source>Fly mode: W A S D to move, Q / E down / up, Shift faster, Esc to leave.</source>
        <translation>Flugmodus: W A S D bewegen, Q / E nach unten / oben, Umschalt schneller, Esc beendet.</translation>
    </message>
</context>
<context>
    <name>MeasurePanel</name>
    <message>
        <location filename="../../desktop/measure.py" line="68" />
        <source>Off</source>
        <translation>Aus</translation>
    </message>
    <message>
        <location filename="../../desktop/measure.py" line="68" />
        <location filename="../../desktop/measure.py" line="126" />
        <source>Distance</source>
        <translation>Abstand</translation>
    </message>
    <message>
        <location filename="../../desktop/measure.py" line="69" />
        <source>Height</source>
        <translation>Höhe</translation>
    </message>
    <message>
        <location filename="../../desktop/measure.py" line="69" />
        <source>Area</source>
        <translation>Fläche</translation>
    </message>
    <message>
        <location filename="../../desktop/measure.py" line="70" />
        <source>Stop measuring (Esc)</source>
        <translation>Messen beenden (Esc)</translation>
    </message>
    <message>
        <location filename="../../desktop/measure.py" line="71" />
        <source>Distance between two points (Ctrl+M)</source>
        <translation>Abstand zwischen zwei Punkten (Strg+M)</translation>
    </message>
    <message>
        <location filename="../../desktop/measure.py" line="72" />
        <source>Height difference between two points (Ctrl+H)</source>
        <translation>Höhenunterschied zwischen zwei Punkten (Strg+H)</translation>
    </message>
    <message>
        <location filename="../../desktop/measure.py" line="73" />
        <source>Area of a polygon (Ctrl+P)</source>
        <translation>Fläche eines Polygons (Strg+P)</translation>
    </message>
    <message>
        <location filename="../../desktop/measure.py" line="77" />
        <source>Clear</source>
        <translation>Löschen</translation>
    </message>
    <message>
        <location filename="../../desktop/measure.py" line="89" />
        <source>Choose a tool, then click on the model.</source>
        <translation>Wählen Sie ein Werkzeug und klicken Sie dann auf das Modell.</translation>
    </message>
    <message>
        <location filename="../../desktop/measure.py" line="90" />
        <source>Click two points on the model.</source>
        <translation>Klicken Sie zwei Punkte auf dem Modell an.</translation>
    </message>
    <message>
        <location filename="../../desktop/measure.py" line="91" />
        <source>Click a lower and an upper point.</source>
        <translation>Klicken Sie einen unteren und einen oberen Punkt an.</translation>
    </message>
    <message>
        <location filename="../../desktop/measure.py" line="92" />
        <source>Click the corners of the polygon (at least three).</source>
        <translation>Klicken Sie die Ecken des Polygons an (mindestens drei).</translation>
    </message>
    <message>
        <location filename="../../desktop/measure.py" line="117" />
        <source>Coordinates in %1</source>
        <translation>Koordinaten in %1</translation>
    </message>
    <message>
        <location filename="../../desktop/measure.py" line="124" />
        <source>horizontal</source>
        <translation>horizontal</translation>
    </message>
    <message>
        <location filename="../../desktop/measure.py" line="126" />
        <source>height difference</source>
        <translation>Höhenunterschied</translation>
    </message>
    <message>
        <location filename="../../desktop/measure.py" line="131" />
        <source>Height difference</source>
        <translation>Höhenunterschied</translation>
    </message>
    <message>
        <location filename="../../desktop/measure.py" line="135" />
        <source>Area (horizontal)</source>
        <translation>Fläche (horizontal)</translation>
    </message>
    <message>
        <location filename="../../desktop/measure.py" line="135" />
        <source>Area (in the polygon plane)</source>
        <translation>Fläche (in der Polygonebene)</translation>
    </message>
    <message>
        <location filename="../../desktop/measure.py" line="136" />
        <source>Perimeter</source>
        <translation>Umfang</translation>
    </message>
</context>
<context>
    <name>ModeBar</name>
    <message>
        <location filename="../../kiosk/site.py" line="112" />
        <source>Explore</source>
        <translation>Entdecken</translation>
    </message>
    <message>
        <location filename="../../kiosk/site.py" line="112" />
        <source>Before / after</source>
        <translation>Vorher / nachher</translation>
    </message>
    <message>
        <location filename="../../kiosk/site.py" line="113" />
        <source>What changed?</source>
        <translation>Was hat sich verändert?</translation>
    </message>
    <message>
        <location filename="../../kiosk/site.py" line="113" />
        <source>Story</source>
        <translation>Geschichte</translation>
    </message>
</context>
<context>
    <name>OpenInVR</name>
    <message>
        <location filename="../../desktop/open_vr.py" line="60" />
        <source>Looking for a VR headset…</source>
        <translation>Suche nach einer VR-Brille …</translation>
    </message>
    <message>
        <location filename="../../desktop/open_vr.py" line="62" />
        <source>No VR runtime with a headset answered: start SteamVR or Monado (see docs/VR.md), then restart the viewer.</source>
        <translation>Keine VR-Laufzeitumgebung mit Brille hat geantwortet: SteamVR oder Monado starten (siehe docs/VR.md), dann den Viewer neu starten.</translation>
    </message>
    <message>
        <location filename="../../desktop/open_vr.py" line="65" />
        <source>Open a site first.</source>
        <translation>Zuerst einen Ort öffnen.</translation>
    </message>
    <message>
        <location filename="../../desktop/open_vr.py" line="67" />
        <source>Show this site, epoch and view in the headset.</source>
        <translation>Diesen Ort, diese Epoche und diese Ansicht in der VR-Brille zeigen.</translation>
    </message>
    <message>
        <location filename="../../desktop/open_vr.py" line="72" />
        <source>Open in &amp;VR</source>
        <translation>In &amp;VR öffnen</translation>
    </message>
    <message>
        <location filename="../../desktop/open_vr.py" line="91" />
        <source>VR mode is already running.</source>
        <translation>Der VR-Modus läuft bereits.</translation>
    </message>
</context>
<context>
    <name>PinPad</name>
    <message>
        <location filename="../../kiosk/admin.py" line="92" />
        <source>Staff: enter the PIN</source>
        <translation>Personal: PIN eingeben</translation>
    </message>
    <message>
        <location filename="../../kiosk/admin.py" line="93" />
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <location filename="../../kiosk/admin.py" line="95" />
        <location filename="../../kiosk/admin.py" line="135" />
        <source>Too many wrong PINs. Try again in a minute.</source>
        <translation>Zu viele falsche PINs. Bitte in einer Minute erneut versuchen.</translation>
    </message>
    <message>
        <location filename="../../kiosk/admin.py" line="97" />
        <source>No PIN is configured: staff exit is disabled.</source>
        <translation>Keine PIN eingerichtet: Beenden durch das Personal ist abgeschaltet.</translation>
    </message>
    <message>
        <location filename="../../kiosk/admin.py" line="137" />
        <source>Wrong PIN.</source>
        <translation>Falsche PIN.</translation>
    </message>
</context>
<context>
    <name>RegionsList</name>
    <message>
        <location filename="../../desktop/regions.py" line="70" />
        <source>Change</source>
        <translation>Änderung</translation>
    </message>
    <message>
        <location filename="../../desktop/regions.py" line="71" />
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <location filename="../../desktop/regions.py" line="70" />
        <source>Area</source>
        <translation>Fläche</translation>
    </message>
    <message>
        <location filename="../../desktop/regions.py" line="70" />
        <source>Volume</source>
        <translation>Volumen</translation>
    </message>
    <message>
        <location filename="../../desktop/regions.py" line="85" />
        <source>added</source>
        <translation>hinzugekommen</translation>
    </message>
    <message>
        <location filename="../../desktop/regions.py" line="85" />
        <source>removed</source>
        <translation>entfernt</translation>
    </message>
    <message>
        <location filename="../../desktop/regions.py" line="92" />
        <source>Region %1</source>
        <translation>Region %1</translation>
    </message>
    <message>
        <location filename="../../desktop/regions.py" line="94" />
        <source>At least this much: one of the two scans did not reach all of this region.</source>
        <translation>Mindestens so viel: Einer der beiden Scans hat diesen Bereich nicht ganz erfasst.</translation>
    </message>
</context>
<context>
    <name>SiteList</name>
    <message>
        <location filename="../../desktop/site_list.py" line="80" />
        <source>Search sites…</source>
        <translation>Orte suchen…</translation>
    </message>
    <message>
        <location filename="../../desktop/site_list.py" line="91" />
        <source>1 epoch</source>
        <translation>1 Epoche</translation>
    </message>
    <message numerus="yes">
        <location filename="../../desktop/site_list.py" line="91" />
        <source>%n epochs</source>
        <translation>
            <numerusform>%n Epoche</numerusform>
            <numerusform>%n Epochen</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../desktop/site_list.py" line="112" />
        <source>No site matches “%1”. Search looks at the German and English names and the id.</source>
        <translation>Kein Ort passt zu „%1“. Gesucht wird in den deutschen und englischen Namen und der Kennung.</translation>
    </message>
</context>
<context>
    <name>StoryCard</name>
    <message>
        <location filename="../../kiosk/story.py" line="169" />
        <source>Back</source>
        <translation>Zurück</translation>
    </message>
    <message>
        <location filename="../../kiosk/story.py" line="170" />
        <source>Pause</source>
        <translation>Pause</translation>
    </message>
    <message>
        <location filename="../../kiosk/story.py" line="170" />
        <source>Play</source>
        <translation>Abspielen</translation>
    </message>
    <message>
        <location filename="../../kiosk/story.py" line="174" />
        <source>End story</source>
        <translation>Geschichte beenden</translation>
    </message>
    <message>
        <location filename="../../kiosk/story.py" line="179" />
        <source>Finish</source>
        <translation>Fertig</translation>
    </message>
    <message>
        <location filename="../../kiosk/story.py" line="179" />
        <source>Next</source>
        <translation>Weiter</translation>
    </message>
</context>
<context>
    <name>StoryChooser</name>
    <message>
        <location filename="../../kiosk/story.py" line="248" />
        <source>Choose a story</source>
        <translation>Wähle eine Geschichte</translation>
    </message>
    <message>
        <location filename="../../kiosk/story.py" line="249" />
        <source>Back to exploring</source>
        <translation>Zurück zum Erkunden</translation>
    </message>
    <message>
        <location filename="../../kiosk/story.py" line="253" />
        <source>%1 stops</source>
        <translation>%1 Stationen</translation>
    </message>
</context>
<context>
    <name>StoryPanel</name>
    <message>
        <location filename="../../desktop/stories.py" line="117" />
        <source>Story</source>
        <translation>Geschichte</translation>
    </message>
    <message>
        <location filename="../../desktop/stories.py" line="117" />
        <source>Id</source>
        <translation>Kennung</translation>
    </message>
    <message>
        <location filename="../../desktop/stories.py" line="117" />
        <source>Title (DE)</source>
        <translation>Titel (DE)</translation>
    </message>
    <message>
        <location filename="../../desktop/stories.py" line="117" />
        <source>Title (EN)</source>
        <translation>Titel (EN)</translation>
    </message>
    <message>
        <location filename="../../desktop/stories.py" line="118" />
        <source>Stop title (DE)</source>
        <translation>Titel des Halts (DE)</translation>
    </message>
    <message>
        <location filename="../../desktop/stories.py" line="118" />
        <source>Stop title (EN)</source>
        <translation>Titel des Halts (EN)</translation>
    </message>
    <message>
        <location filename="../../desktop/stories.py" line="119" />
        <source>Text (DE)</source>
        <translation>Text (DE)</translation>
    </message>
    <message>
        <location filename="../../desktop/stories.py" line="119" />
        <source>Text (EN)</source>
        <translation>Text (EN)</translation>
    </message>
    <message>
        <location filename="../../desktop/stories.py" line="122" />
        <source>Add current view</source>
        <translation>Aktuelle Ansicht hinzufügen</translation>
    </message>
    <message>
        <location filename="../../desktop/stories.py" line="123" />
        <source>Add the current view, epochs and compare mode as a stop</source>
        <translation>Die aktuelle Ansicht, Epochen und den Vergleichsmodus als Halt hinzufügen</translation>
    </message>
    <message>
        <location filename="../../desktop/stories.py" line="124" />
        <source>Remove</source>
        <translation>Entfernen</translation>
    </message>
    <message>
        <location filename="../../desktop/stories.py" line="125" />
        <source>Preview</source>
        <translation>Vorschau</translation>
    </message>
    <message>
        <location filename="../../desktop/stories.py" line="126" />
        <source>Save story in the archive…</source>
        <translation>Geschichte im Archiv speichern…</translation>
    </message>
    <message>
        <location filename="../../desktop/stories.py" line="127" />
        <source>e.g. what-changed</source>
        <translation>z. B. was-sich-aenderte</translation>
    </message>
    <message>
        <location filename="../../desktop/stories.py" line="129" />
        <location filename="../../desktop/stories.py" line="150" />
        <source>New story</source>
        <translation>Neue Geschichte</translation>
    </message>
    <message>
        <location filename="../../desktop/stories.py" line="131" />
        <source>Stories</source>
        <translation>Geschichten</translation>
    </message>
    <message>
        <location filename="../../desktop/stories.py" line="282" />
        <source>Save story</source>
        <translation>Geschichte speichern</translation>
    </message>
    <message>
        <location filename="../../desktop/stories.py" line="283" />
        <source>Save the story “%1” with %2 stops as a new version of %3 in the archive?</source>
        <translation>Die Geschichte „%1“ mit %2 Halten als neue Version von %3 im Archiv speichern?</translation>
    </message>
    <message>
        <location filename="../../desktop/stories.py" line="307" />
        <source>Saved story “%1” as archive version %2.</source>
        <translation>Geschichte „%1“ als Archivversion %2 gespeichert.</translation>
    </message>
</context>
<context>
    <name>Timeline</name>
    <message>
        <location filename="../../kiosk/site.py" line="178" />
        <source>%1 (before)</source>
        <translation>%1 (vorher)</translation>
    </message>
    <message>
        <location filename="../../kiosk/site.py" line="182" />
        <source>Tap a year</source>
        <translation>Tippen Sie auf ein Jahr</translation>
    </message>
    <message>
        <location filename="../../kiosk/site.py" line="183" />
        <source>Tap a year to compare it with the one before</source>
        <translation>Tippen Sie auf ein Jahr, um es mit dem vorherigen zu vergleichen</translation>
    </message>
</context>
<context>
    <name>TimelineBar</name>
    <message>
        <location filename="../../desktop/timeline.py" line="232" />
        <source>Pause</source>
        <translation>Pause</translation>
    </message>
    <message>
        <location filename="../../desktop/timeline.py" line="233" />
        <source>Play</source>
        <translation>Abspielen</translation>
    </message>
    <message>
        <location filename="../../desktop/timeline.py" line="234" />
        <source>Play through the epochs (Space)</source>
        <translation>Die Epochen nacheinander abspielen (Leertaste)</translation>
    </message>
    <message>
        <location filename="../../desktop/timeline.py" line="236" />
        <source>Click or drag to show an epoch; Shift+click or right-click picks the reference epoch A for comparisons</source>
        <translation>Klicken oder ziehen zeigt eine Epoche; Umschalt+Klick oder Rechtsklick wählt die Bezugsepoche A für Vergleiche</translation>
    </message>
    <message>
        <location filename="../../desktop/timeline.py" line="250" />
        <source>Epoch %1</source>
        <translation>Epoche %1</translation>
    </message>
</context>
<context>
    <name>TopBar</name>
    <message>
        <location filename="../../kiosk/site.py" line="77" />
        <source>Home</source>
        <translation>Start</translation>
    </message>
</context>
<context>
    <name>ViewerController</name>
    <message>
        <location filename="../controller.py" line="121" />
        <source>The archive holds no sites yet.</source>
        <extracomment>pixels (w, h) of those pictures: the desktop's site list; the kiosk's tiles ask more</extracomment>
        <translation>Das Archiv enthält noch keine Orte.</translation>
    </message>
    <message>
        <location filename="../controller.py" line="167" />
        <source>Epoch %1 has no mesh in the archive.</source>
        <translation>Epoche %1 hat kein Modell im Archiv.</translation>
    </message>
    <message>
        <location filename="../controller.py" line="195" />
        <source>LOD %1 of epoch %2 is damaged; showing LOD %3. Check the archive with: stadtzeit archive verify</source>
        <translation>LOD %1 der Epoche %2 ist beschädigt; gezeigt wird LOD %3. Prüfen Sie das Archiv mit: stadtzeit archive verify</translation>
    </message>
    <message>
        <location filename="../controller.py" line="210" />
        <source>LOD %1 of epoch %2 is damaged (%3). Showing LOD %4 instead.</source>
        <translation>LOD %1 der Epoche %2 ist beschädigt (%3). Stattdessen wird LOD %4 gezeigt.</translation>
    </message>
    <message>
        <location filename="../controller.py" line="215" />
        <source>Could not load epoch %1: %2.</source>
        <translation>Epoche %1 konnte nicht geladen werden: %2.</translation>
    </message>
    <message>
        <location filename="../controller.py" line="226" />
        <source>Check the archive with: stadtzeit archive verify</source>
        <translation>Prüfen Sie das Archiv mit: stadtzeit archive verify</translation>
    </message>
    <message>
        <location filename="../controller.py" line="318" />
        <source>Choose two different epochs A and B to see change.</source>
        <translation>Wählen Sie zwei verschiedene Epochen A und B, um Änderungen zu sehen.</translation>
    </message>
    <message>
        <location filename="../controller.py" line="370" />
        <source>No meshes to compare for %1 and %2.</source>
        <translation>Keine Modelle zum Vergleich von %1 und %2.</translation>
    </message>
    <message>
        <location filename="../controller.py" line="378" />
        <source>The stored %3 change product for %1 → %2 was made by an older version of the method: computing it now (not stored). `stadtzeit compare` stores it anew.</source>
        <translation>Das gespeicherte %3-Änderungsprodukt für %1 → %2 stammt aus einer älteren Version des Verfahrens: Es wird jetzt neu berechnet (nicht gespeichert). `stadtzeit compare` speichert es neu.</translation>
    </message>
    <message>
        <location filename="../controller.py" line="383" />
        <source>No stored %3 change product for %1 → %2: computing it now (not stored).</source>
        <translation>Kein gespeichertes %3-Änderungsprodukt für %1 → %2: wird jetzt berechnet (nicht gespeichert).</translation>
    </message>
    <message>
        <location filename="../controller.py" line="441" />
        <source>The change product does not match the mesh of %1 (%2 values for %3 vertices).</source>
        <translation>Das Änderungsprodukt passt nicht zum Modell von %1 (%2 Werte für %3 Punkte).</translation>
    </message>
    <message>
        <location filename="../controller.py" line="528" />
        <source>Saved view “%1” as archive version %2.</source>
        <translation>Ansicht „%1“ als Archivversion %2 gespeichert.</translation>
    </message>
</context>
<context>
    <name>ViewpointPanel</name>
    <message>
        <location filename="../../desktop/viewpoints.py" line="49" />
        <source>Name of the view</source>
        <translation>Name der Ansicht</translation>
    </message>
    <message>
        <location filename="../../desktop/viewpoints.py" line="50" />
        <location filename="../../desktop/viewpoints.py" line="95" />
        <source>Save view</source>
        <translation>Ansicht speichern</translation>
    </message>
    <message>
        <location filename="../../desktop/viewpoints.py" line="51" />
        <source>Save the current view in the archive (Ctrl+S)</source>
        <translation>Die aktuelle Ansicht im Archiv speichern (Strg+S)</translation>
    </message>
    <message>
        <location filename="../../desktop/viewpoints.py" line="52" />
        <source>Saving writes a new version of the site to the archive.</source>
        <translation>Speichern schreibt eine neue Version des Ortes ins Archiv.</translation>
    </message>
    <message>
        <location filename="../../desktop/viewpoints.py" line="79" />
        <source>View %1 (%2)</source>
        <translation>Ansicht %1 (%2)</translation>
    </message>
    <message>
        <location filename="../../desktop/viewpoints.py" line="96" />
        <source>Saving writes a new version of the site to the archive.
Name of the view:</source>
        <translation>Speichern schreibt eine neue Version des Ortes ins Archiv.
Name der Ansicht:</translation>
    </message>
    <message>
        <location filename="../../desktop/viewpoints.py" line="99" />
        <source>Save in archive</source>
        <translation>Im Archiv speichern</translation>
    </message>
</context>
</TS>