// FacePop: tooltips for the panel. The help texts come with the panel, in a hidden element
// the panel builds from the settings model (no request: the WebUI's --api-auth would
// refuse one from the browser). Each control's help goes on that control only, and the
// accordion's help on its header only, so it never shows over the sections inside it.
(function () {
    var HOLDER = "#facepop_help [data-facepop-help]";

    function helpTexts() {
        var holder = gradioApp().querySelector(HOLDER);
        if (!holder) {
            return null;
        }
        try {
            return JSON.parse(holder.getAttribute("data-facepop-help"));
        } catch (e) {
            return null;
        }
    }

    // Returns whether every help text found its place.
    function addTooltips() {
        var texts = helpTexts();
        if (!texts) {
            return false;
        }
        var placed = true;
        Object.keys(texts).forEach(function (id) {
            var element = gradioApp().getElementById(id);
            var place = element && (texts[id].header ? element.querySelector(".label-wrap") : element);
            if (place) {
                place.title = texts[id].text;
            } else {
                placed = false;
            }
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
