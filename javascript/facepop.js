// FacePop: tooltips for the panel's controls. The texts come from the settings model,
// served by FacePop's own route, so they are written in one place only.
(function () {
    function addTooltips(schema) {
        var properties = (schema && schema.properties) || {};
        Object.keys(properties).forEach(function (name) {
            var help = properties[name].description;
            var ids = name === "enabled" ? ["facepop", "facepop-checkbox"] : ["facepop_" + name];
            ids.forEach(function (id) {
                var element = gradioApp().getElementById(id);
                if (element && help) {
                    element.title = help;
                }
            });
        });
    }

    onUiLoaded(function () {
        fetch("./facepop/v1/schema")
            .then(function (response) { return response.ok ? response.json() : null; })
            .then(addTooltips)
            .catch(function () { /* tooltips are a nicety; the panel works without them */ });
    });
})();
