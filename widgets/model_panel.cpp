// ModelPanel: the model picker, the mixture and model-folder loaders and the class.
#include "model_panel.hpp"

#include "form_helpers.hpp"

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "model/gaussian_mixture.hpp"
#include "model/neural_model.hpp"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QSignalBlocker>
#include <QStandardItemModel>
#include <QToolButton>
#include <algorithm>

namespace itslab::gui {

using form_helpers::has_prefix;
using form_helpers::mark;
using nlohmann::json;

namespace {
constexpr const char* kInline = "inline mixture (from file)";
constexpr const char* kFolder = "__path__";

bool is_network(const QString& id) {
  return id.startsWith("nn/") || id == kFolder;
}

QString shape_text(const std::vector<int>& shape) {
  QStringList s;
  for (int v : shape)
    s << QString::number(v);
  return s.join("×");
}

// What the panel shows of a network: its description line and tooltip.
QString network_description(const ModelConfig& c) {
  QString d = QString("trained network: %1, %2, %3, predicts %4 — approximate: its samples are "
                      "the network's, not an exact target")
                  .arg(QString::fromStdString(c.architecture), shape_text(c.data_shape),
                       QString::fromStdString(c.process.type),
                       QString::fromStdString(to_string(c.prediction)));
  if (!c.trained_on.empty())
    d += QString("; the density view and the metrics use its training data %1 (exact mixture)")
             .arg(QString::fromStdString(c.trained_on));
  return d;
}

QString network_tooltip(const ModelConfig& c, const QString& folder) {
  QString classes = "unconditional";
  if (c.num_classes > 0) {
    QStringList names;
    for (const std::string& n : c.class_names)
      names << QString::fromStdString(n);
    classes = QString("%1 classes%2")
                  .arg(c.num_classes)
                  .arg(names.isEmpty() ? QString() : ": " + names.join(", "));
  }
  return QString("%1\narchitecture %2 · data %3 · trained for %4, predicts %5\n%6\n%7")
      .arg(QString::fromStdString(c.name), QString::fromStdString(c.architecture),
           shape_text(c.data_shape), QString::fromStdString(c.process.type),
           QString::fromStdString(to_string(c.prediction)), classes, folder);
}
} // namespace

ModelPanel::ModelPanel(QWidget* parent) : QWidget(parent) {
  setObjectName("panel.model");
  auto* form = new QFormLayout(this);
  form->setContentsMargins(0, 0, 0, 0);
  auto* row = new QHBoxLayout();
  model_ = new QComboBox(this);
  model_->setObjectName("model");
  model_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  model_->setMinimumContentsLength(14);
  model_->setToolTip("The target distribution p0. The Gaussian mixtures are exact: p_t, the score "
                     "and E[x0 | x_t] are closed forms and every error you see is the sampler's. "
                     "The neural models are trained networks: their samples are only as good as "
                     "the network.");
  auto* items = new QStandardItemModel(model_);
  auto header = [&](const QString& text) {
    auto* it = new QStandardItem(text);
    it->setFlags(Qt::NoItemFlags);
    QFont f = it->font();
    f.setBold(true);
    it->setFont(f);
    items->appendRow(it);
  };
  std::vector<std::string> two, high;
  for (const std::string& id : builtin_gmm_ids()) {
    const GaussianMixture g = builtin_gmm(id);
    info_[id] = {g.dim(), g.num_classes()};
    (g.dim() == 2 ? two : high).push_back(id);
  }
  auto add = [&](const std::string& id) {
    auto* it = new QStandardItem("  " + QString::fromStdString(id));
    it->setData(QString::fromStdString(id), Qt::UserRole);
    it->setToolTip(QString::fromStdString(builtin_gmm_description(id)) +
                   QString("\n%1-D, %2 classes").arg(info_[id].first).arg(info_[id].second));
    items->appendRow(it);
  };
  header("2-D");
  for (const auto& id : two)
    add(id);
  header("high-D");
  for (const auto& id : high)
    add(id);
  header("neural");
  const std::string dir = bundled_models_dir();
  for (const std::string& id : bundled_model_ids()) {
    const QString data = QString::fromStdString("nn/" + id);
    const QString folder = QString::fromStdString(dir + "/" + id);
    Network net;
    QString tip;
    try {
      const ModelFiles files = model_files(folder.toStdString());
      const ModelConfig c = parse_model_config(read_file(files.config), files.config);
      if (c.architecture == "classifier")
        continue; // the classifier behind fid and the classifier reward samples nothing
      net.dim = c.dim();
      net.classes = c.num_classes;
      net.class_names = c.class_names;
      net.description = network_description(c);
      tip = network_tooltip(c, folder);
    } catch (const std::exception& e) {
      net.error = QString::fromStdString(e.what());
      tip = net.error;
    }
    auto* it = new QStandardItem("  " + data);
    it->setData(data, Qt::UserRole);
    it->setToolTip(tip);
    items->appendRow(it);
    networks_[data.toStdString()] = net;
  }
  if (networks_.empty()) {
    auto* it = new QStandardItem("  (no bundled networks found)");
    it->setFlags(Qt::NoItemFlags);
    it->setToolTip("The trained models are looked for next to the program and in the source "
                   "tree; set ITSLAB_MODELS to their folder");
    items->appendRow(it);
  }
  model_->setModel(items);
  row->addWidget(model_, 1);
  open_ = new QToolButton(this);
  open_->setObjectName("model.open");
  open_->setText("Open…");
  open_->setToolTip("Open a model: an inline Gaussian mixture from a JSON file, or a trained "
                    "network from a model folder (config.json + model.safetensors)");
  open_->setPopupMode(QToolButton::InstantPopup);
  auto* menu = new QMenu(open_);
  menu->addAction("Open mixture (JSON)…", this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, "Open a Gaussian mixture", {},
                                                      "JSON (*.json);;All files (*)");
    if (path.isEmpty())
      return;
    QString err;
    if (openMixtureFile(path, &err)) {
      error_->show_for({}, {"model"});
      const bool net = is_network(lastId_);
      lastId_ = "__inline__";
      emit modelChanged(net);
      emit edited(false);
    } else {
      error_->show_for({{"model.gmm", err}}, {"model"});
    }
  });
  menu->addAction("Open model folder…", this, [this] {
    const QString path = QFileDialog::getExistingDirectory(
        this, "Open a model folder (config.json + model.safetensors)", folder_);
    if (!path.isEmpty())
      openModelFolder(path);
  });
  open_->setMenu(menu);
  row->addWidget(open_);
  form->addRow("model", row);
  description_ = new QLabel(this);
  description_->setObjectName("model.description");
  description_->setWordWrap(true);
  description_->setStyleSheet("color: palette(mid); font-size: small;");
  form->addRow(description_);
  class_ = new QComboBox(this);
  class_->setObjectName("class");
  class_->setToolTip("Condition on one class c: the target becomes p0(x | c) (a mixture: the "
                     "components labelled c renormalised; a network: its class input). Needed by "
                     "cfg guidance");
  form->addRow("class", class_);
  error_ = new ErrorLabel(this);
  error_->setObjectName("model.error");
  form->addRow(error_);

  connect(model_, &QComboBox::currentIndexChanged, this, [this] {
    const QString id = model_->currentData(Qt::UserRole).toString();
    const bool net = is_network(id) || is_network(lastId_);
    lastId_ = id;
    refreshClasses(-1);
    emit modelChanged(net);
    emit edited(false);
  });
  connect(class_, &QComboBox::currentIndexChanged, this, [this] { emit edited(false); });
  model_->setCurrentIndex(1);
  lastId_ = model_->currentData(Qt::UserRole).toString();
  refreshClasses(-1);
}

QString ModelPanel::errorText() const {
  return error_->isHidden() ? QString() : error_->text();
}

void ModelPanel::selectSpecial(const QString& data, const QString& text) {
  const QSignalBlocker b(model_);
  int idx = model_->findData(data, Qt::UserRole);
  if (idx < 0) {
    model_->addItem(text);
    idx = model_->count() - 1;
    model_->setItemData(idx, data, Qt::UserRole);
  }
  model_->setItemText(idx, text);
  model_->setCurrentIndex(idx);
}

const ModelPanel::Network* ModelPanel::currentNetwork() const {
  const QString id = model_->currentData(Qt::UserRole).toString();
  if (id == kFolder)
    return &folderNet_;
  const auto it = networks_.find(id.toStdString());
  return it == networks_.end() ? nullptr : &it->second;
}

bool ModelPanel::openModelFolder(const QString& path) {
  try {
    // the whole network is read and checked (every tensor's presence, shape and finiteness),
    // so a broken folder is refused here rather than by a failed run
    const std::unique_ptr<NeuralModel> net = NeuralModel::load(path.toStdString());
    const ModelConfig& c = net->config();
    folder_ = path;
    folderNet_ = Network{c.dim(), c.num_classes, c.class_names, network_description(c), {}};
    selectSpecial(kFolder, "folder: " + QFileInfo(path).fileName());
    model_->setItemData(model_->currentIndex(), network_tooltip(c, path), Qt::ToolTipRole);
    refreshClasses(-1);
    error_->show_for({}, {"model"});
  } catch (const std::exception& e) {
    error_->show_for({{"model.path", QString::fromStdString(e.what())}}, {"model"});
    return false;
  }
  lastId_ = kFolder;
  emit modelChanged(true);
  emit edited(false);
  return true;
}

bool ModelPanel::openMixtureFile(const QString& path, QString* error) {
  try {
    json j = json::parse(read_file(path.toStdString()));
    if (j.contains("model") && j["model"].contains("gmm"))
      j = j["model"]["gmm"];
    else if (j.contains("gmm"))
      j = j["gmm"];
    if (!j.is_object() || !j.contains("weights") || !j.contains("means"))
      throw Error(path.toStdString() + ": no mixture (expected weights and means)");
    inline_ = j;
    selectSpecial("__inline__", kInline);
    refreshClasses(-1);
    return true;
  } catch (const std::exception& e) {
    if (error)
      *error = QString::fromStdString(e.what());
    return false;
  }
}

void ModelPanel::refreshClasses(int keep) {
  const QString id = model_->currentData(Qt::UserRole).toString();
  int classes = 0, dim = 0;
  const std::vector<std::string>* names = nullptr;
  if (id == "__inline__") {
    try {
      GmmSpec s;
      s.weights = inline_.value("weights", std::vector<double>{});
      s.means = inline_.value("means", std::vector<std::vector<double>>{});
      s.labels = inline_.value("labels", std::vector<int>{});
      s.stds = inline_.value("stds", std::vector<double>{});
      s.covariances = inline_.value("covariances", std::vector<std::vector<std::vector<double>>>{});
      const GaussianMixture g("inline", s);
      classes = g.num_classes();
      dim = g.dim();
      description_->setText(
          QString("inline mixture, %1 components · %2-D").arg(g.num_components()).arg(dim));
    } catch (const std::exception& e) {
      description_->setText(QString("inline mixture: %1").arg(e.what()));
    }
  } else if (auto it = info_.find(id.toStdString()); it != info_.end()) {
    dim = it->second.first;
    classes = it->second.second;
    description_->setText(QString::fromStdString(builtin_gmm_description(it->first)) +
                          QString(" · %1-D").arg(dim));
  } else if (const Network* net = currentNetwork()) {
    classes = net->classes;
    names = &net->class_names;
    description_->setText(net->error.isEmpty() ? net->description : net->error);
  } else {
    description_->clear();
  }
  const QSignalBlocker b(class_);
  class_->clear();
  class_->addItem("unconditional", -1);
  for (int c = 0; c < classes; ++c)
    class_->addItem(names && c < static_cast<int>(names->size())
                        ? QString("%1 %2").arg(c).arg(QString::fromStdString((*names)[c]))
                        : QString("class %1").arg(c),
                    c);
  int idx = class_->findData(keep);
  if (idx < 0 && keep >= 0) { // keep an out-of-range class so the loader can name the problem
    class_->addItem(QString("class %1 (not in this model)").arg(keep), keep);
    idx = class_->count() - 1;
  }
  class_->setCurrentIndex(std::max(0, idx));
}

void ModelPanel::setJson(const json& m) {
  const QSignalBlocker b(model_);
  if (m.contains("gmm")) {
    inline_ = m["gmm"];
    selectSpecial("__inline__", kInline);
  } else if (m.contains("path") && m["path"].is_string()) {
    // only the configuration is read here: a broken folder is reported by the run
    folder_ = QString::fromStdString(m["path"].get<std::string>());
    folderNet_ = Network{};
    QString tip = folder_;
    try {
      const ModelFiles files = model_files(folder_.toStdString());
      const ModelConfig c = parse_model_config(read_file(files.config), files.config);
      folderNet_ = Network{c.dim(), c.num_classes, c.class_names, network_description(c), {}};
      tip = network_tooltip(c, folder_);
    } catch (const std::exception& e) {
      folderNet_.error = QString::fromStdString(e.what());
    }
    selectSpecial(kFolder, "folder: " + QFileInfo(folder_).fileName());
    model_->setItemData(model_->currentIndex(), tip, Qt::ToolTipRole);
  } else {
    const QString id = QString::fromStdString(m.value("builtin", std::string()));
    int idx = model_->findData(id, Qt::UserRole);
    if (idx < 0) { // unknown id: keep it visible so the error can point at it
      model_->addItem(id);
      idx = model_->count() - 1;
      model_->setItemData(idx, id, Qt::UserRole);
    }
    model_->setCurrentIndex(idx);
  }
  lastId_ = model_->currentData(Qt::UserRole).toString();
  refreshClasses(m.value("class", -1));
  setErrors({});
}

json ModelPanel::toJson() const {
  json m = json::object();
  const QString id = model_->currentData(Qt::UserRole).toString();
  if (id == "__inline__")
    m["gmm"] = inline_;
  else if (id == kFolder)
    m["path"] = folder_.toStdString();
  else
    m["builtin"] = id.toStdString();
  const int c = class_->currentData().toInt();
  if (c >= 0)
    m["class"] = c;
  return m;
}

void ModelPanel::setErrors(const QMap<QString, QString>& errors) {
  error_->show_for(errors, {"model"});
  mark(model_, has_prefix(errors, "model.builtin") || has_prefix(errors, "model.gmm") ||
                   has_prefix(errors, "model.path") || errors.contains("model"));
  mark(class_, has_prefix(errors, "model.class") || errors.contains("guidance"));
}

} // namespace itslab::gui
