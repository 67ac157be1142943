({
    doInit: function (component, event, helper) {
        helper.buildParameters(component);
    },

    onCanvasAppError: function (component, event, helper) {
        helper.showError(component, event);
    }
});
