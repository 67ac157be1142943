({
    // environment.record is empty for force:canvasApp in Lightning, so the record travels in
    // parameters; Inflow reads environment.parameters from the signed request.
    buildParameters: function (component) {
        var parameters = { location: "tab" };
        var recordId = component.get("v.recordId");
        if (recordId) {
            parameters.location = "record";
            parameters.recordId = recordId;
            parameters.sObjectName = component.get("v.sObjectName") || "";
        }
        var view = component.get("v.view");
        if (view) {
            parameters.view = view;
        }
        var pageRef = component.get("v.pageReference");
        if (pageRef && pageRef.state && pageRef.state.inflow__runId) {
            // The run summary LWC opens the tab with ?inflow__runId=... to show one run.
            parameters.runId = pageRef.state.inflow__runId;
        }
        component.set("v.canvasParameters", JSON.stringify(parameters));
    },

    showError: function (component, event) {
        var detail = event && event.getParams ? event.getParams() : null;
        var message = "Inflow could not be loaded. Ask your administrator to check that the Inflow app is installed, that you have the Inflow User permission set, and that the canvas URL is reachable.";
        if (detail && detail.errorMessage) {
            message = message + " (" + detail.errorMessage + ")";
        }
        component.set("v.errorMessage", message);
        var toast = $A.get("e.force:showToast");
        if (toast) {
            toast.setParams({ title: "Inflow", message: message, type: "error" });
            toast.fire();
        }
    }
});
