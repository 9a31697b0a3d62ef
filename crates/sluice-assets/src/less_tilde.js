// sluice's lessc plugin for webpack's `~` prefix (less-loader's): `@import "~pkg/less/x"`
// is `pkg/less/x` looked for in the include paths only, as sluice's Sass importer does
// (sluice passes its load paths: the nearest `node_modules` above the project first, then
// the source folders); `.less` is tried first for a name without an extension. Any other
// import is left to lessc. A miss lists every place tried.
module.exports = {
  install: function (less, pluginManager) {
    var fs = require('fs');
    var path = require('path');
    var tilde = new less.FileManager();
    tilde.supports = function (filename) {
      return filename.charAt(0) === '~';
    };
    tilde.supportsSync = tilde.supports;
    tilde.loadFile = function (filename, currentDirectory, options, environment, callback) {
      options = options || {};
      var name = filename.slice(1);
      var names = path.extname(name) ? [name] : [name + '.less', name];
      var dirs = (options.paths || []).map(function (p) {
        return path.resolve(p);
      });
      var tried = [];
      var result = null;
      for (var i = 0; i < dirs.length && !result; i++) {
        for (var j = 0; j < names.length && !result; j++) {
          var full = path.join(dirs[i], names[j]);
          tried.push(full);
          try {
            if (fs.statSync(full).isFile()) {
              result = { contents: fs.readFileSync(full, 'utf-8'), filename: full };
            }
          } catch (e) {}
        }
      }
      var error = result ? null : {
        type: 'File',
        message: "'" + filename + "' wasn't found. Tried - " + tried.join(',')
      };
      if (options.syncImport) {
        var value = result || { error: error };
        if (callback) callback(error, value);
        return value;
      }
      return result ? Promise.resolve(result) : Promise.reject(error);
    };
    tilde.loadFileSync = function (filename, currentDirectory, options, environment) {
      options.syncImport = true;
      return this.loadFile(filename, currentDirectory, options, environment);
    };
    pluginManager.addFileManager(tilde);
  }
};
