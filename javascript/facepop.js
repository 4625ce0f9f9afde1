// FacePop: tooltips for the panel. The help texts come with the panel, in a hidden element
// the panel builds from the settings model (no request: the WebUI's --api-auth would
// refuse one from the browser). Each control's help goes on that control only, and the
// accordion's help on its header only, so it never shows over the sections inside it.
// The panel is in the txt2img and the img2img tab: each has its own hidden element, whose
// texts name that panel's element ids.
(function () {
    var HOLDERS = "[data-facepop-help]";

    function helpTexts(holder) {
        try {
            return JSON.parse(holder.getAttribute("data-facepop-help"));
        } catch (e) {
            return null;
        }
    }

    // Returns whether every help text of every panel found its place.
    function addTooltips() {
        var holders = gradioApp().querySelectorAll(HOLDERS);
        if (!holders.length) {
            return false;
        }
        var placed = true;
        holders.forEach(function (holder) {
            var texts = helpTexts(holder);
            if (!texts) {
                placed = false;
                return;
            }
            Object.keys(texts).forEach(function (id) {
                var element = gradioApp().getElementById(id);
                var place = element && (texts[id].header ? element.querySelector(".label-wrap") : element);
                if (place) {
                    place.title = texts[id].text;
                } else {
                    placed = false;
                }
            });
        });
        return placed;
    }

    var done = false;
    onUiLoaded(function () {
        done = addTooltips();
    });
    onUiUpdate(function () {
        if (!done) {
            done = addTooltips();
        }
    });
})();
