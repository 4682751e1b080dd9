"""The "Knowledge Distillation" tutorial on a tiny fixed dataset: a deep teacher CNN and a
light student trained with cross-entropy; then the student distilled from the teacher's
temperature-softened logits (KL term scaled by T**2), with a cosine loss on flattened
hidden representations (avg_pool1d to the student's width, nn.CosineEmbeddingLoss), and
with an MSE regressor on intermediate feature maps. Weights start from fixed NumPy values,
the loader does not shuffle."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(5)
device = "cpu"
images = torch.from_numpy(rng.standard_normal((64, 3, 8, 8)).astype(np.float32))
labels = torch.from_numpy(rng.integers(0, 4, 64))
images += labels.float().view(-1, 1, 1, 1) * 0.8  # something learnable
train_loader = DataLoader(TensorDataset(images[:48], labels[:48]), batch_size=16, shuffle=False)
test_loader = DataLoader(TensorDataset(images[48:], labels[48:]), batch_size=16, shuffle=False)


def fixed_(model, scale=0.25):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32))
                    * scale)
    return model


class DeepNN(nn.Module):
    def __init__(self, num_classes=4):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 8, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(8, 8, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(8, 8, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Dropout(0.1),
                                        nn.Linear(32, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


class LightNN(nn.Module):
    def __init__(self, num_classes=4):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 4, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(4, 4, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Dropout(0.1),
                                        nn.Linear(16, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def train(model, train_loader, epochs, learning_rate, device):
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=learning_rate)
    model.train()
    model.classifier[2].p = 0.0  # keep the printed losses independent of dropout draws
    for epoch in range(epochs):
        running_loss = 0.0
        for inputs, labels in train_loader:
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        print(f"Epoch {epoch + 1}/{epochs}, Loss: {running_loss / len(train_loader):.4f}")


def test(model, test_loader, device):
    model.to(device)
    model.eval()
    correct = 0
    total = 0
    with torch.no_grad():
        for inputs, labels in test_loader:
            outputs = model(inputs)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    accuracy = 100 * correct / total
    print(f"Test Accuracy: {accuracy:.2f}%")
    return accuracy


nn_deep = fixed_(DeepNN()).to(device)
train(nn_deep, train_loader, epochs=3, learning_rate=0.003, device=device)
test_accuracy_deep = test(nn_deep, test_loader, device)

light_state = fixed_(LightNN()).state_dict()
nn_light = LightNN().to(device)
nn_light.load_state_dict(light_state)
new_nn_light = LightNN().to(device)
new_nn_light.load_state_dict(light_state)
print("Norm of 1st layer of nn_light:", f"{torch.norm(nn_light.features[0].weight).item():.5f}")
print("same start:", torch.equal(nn_light.features[0].weight, new_nn_light.features[0].weight))
total_params_deep = f"{sum(p.numel() for p in nn_deep.parameters()):,}"
total_params_light = f"{sum(p.numel() for p in nn_light.parameters()):,}"
print(f"DeepNN parameters: {total_params_deep}  LightNN parameters: {total_params_light}")
train(nn_light, train_loader, epochs=3, learning_rate=0.003, device=device)
test_accuracy_light_ce = test(nn_light, test_loader, device)


def train_knowledge_distillation(teacher, student, train_loader, epochs, learning_rate, T,
                                 soft_target_loss_weight, ce_loss_weight, device):
    ce_loss = nn.CrossEntropyLoss()
    optimizer = optim.Adam(student.parameters(), lr=learning_rate)
    teacher.eval()
    student.train()
    student.classifier[2].p = 0.0
    for epoch in range(epochs):
        running_loss = 0.0
        for inputs, labels in train_loader:
            optimizer.zero_grad()
            with torch.no_grad():
                teacher_logits = teacher(inputs)
            student_logits = student(inputs)
            soft_targets = nn.functional.softmax(teacher_logits / T, dim=-1)
            soft_prob = nn.functional.log_softmax(student_logits / T, dim=-1)
            soft_targets_loss = (torch.sum(soft_targets * (soft_targets.log() - soft_prob))
                                 / soft_prob.size()[0] * (T ** 2))
            label_loss = ce_loss(student_logits, labels)
            loss = soft_target_loss_weight * soft_targets_loss + ce_loss_weight * label_loss
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        print(f"Epoch {epoch + 1}/{epochs}, Loss: {running_loss / len(train_loader):.4f}")


train_knowledge_distillation(teacher=nn_deep, student=new_nn_light, train_loader=train_loader,
                             epochs=3, learning_rate=0.003, T=2, soft_target_loss_weight=0.25,
                             ce_loss_weight=0.75, device=device)
test_accuracy_light_ce_and_kd = test(new_nn_light, test_loader, device)
print(f"Teacher accuracy: {test_accuracy_deep:.2f}%")
print(f"Student accuracy without teacher: {test_accuracy_light_ce:.2f}%")
print(f"Student accuracy with CE + KD: {test_accuracy_light_ce_and_kd:.2f}%")
teacher_logits = nn_deep(images[:4])
kl = F.kl_div(F.log_softmax(new_nn_light(images[:4]) / 2, -1),
              F.softmax(teacher_logits / 2, -1), reduction="batchmean")
print("kl_div batchmean:", f"{kl.item():.5f}")


class ModifiedDeepNNCosine(DeepNN):
    def forward(self, x):
        x = self.features(x)
        flattened_conv_output = torch.flatten(x, 1)
        x = self.classifier(flattened_conv_output)
        flattened_conv_output_after_pooling = torch.nn.functional.avg_pool1d(
            flattened_conv_output, 2)
        return x, flattened_conv_output_after_pooling


class ModifiedLightNNCosine(LightNN):
    def forward(self, x):
        x = self.features(x)
        flattened_conv_output = torch.flatten(x, 1)
        x = self.classifier(flattened_conv_output)
        return x, flattened_conv_output


modified_nn_deep = ModifiedDeepNNCosine().to(device)
modified_nn_deep.load_state_dict(nn_deep.state_dict())
print("Norm of 1st layer for deep_nn:", f"{torch.norm(nn_deep.features[0].weight).item():.5f}")
print("Norm of 1st layer for modified_deep_nn:",
      f"{torch.norm(modified_nn_deep.features[0].weight).item():.5f}")
modified_nn_light = ModifiedLightNNCosine().to(device)
modified_nn_light.load_state_dict(light_state)
logits, hidden_representation = modified_nn_light(images[:2])
print("Student logits shape:", logits.shape)
print("Student hidden representation shape:", hidden_representation.shape)
logits, hidden_representation = modified_nn_deep(images[:2])
print("Teacher hidden representation shape:", hidden_representation.shape)


def train_cosine_loss(teacher, student, train_loader, epochs, learning_rate,
                      hidden_rep_loss_weight, ce_loss_weight, device):
    ce_loss = nn.CrossEntropyLoss()
    cosine_loss = nn.CosineEmbeddingLoss()
    optimizer = optim.Adam(student.parameters(), lr=learning_rate)
    teacher.to(device)
    student.to(device)
    teacher.eval()
    student.train()
    student.classifier[2].p = 0.0
    for epoch in range(epochs):
        running_loss = 0.0
        for inputs, labels in train_loader:
            optimizer.zero_grad()
            with torch.no_grad():
                _, teacher_hidden_representation = teacher(inputs)
            student_logits, student_hidden_representation = student(inputs)
            hidden_rep_loss = cosine_loss(student_hidden_representation,
                                          teacher_hidden_representation,
                                          target=torch.ones(inputs.size(0)).to(device))
            label_loss = ce_loss(student_logits, labels)
            loss = hidden_rep_loss_weight * hidden_rep_loss + ce_loss_weight * label_loss
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        print(f"Epoch {epoch + 1}/{epochs}, Loss: {running_loss / len(train_loader):.4f}")


train_cosine_loss(teacher=modified_nn_deep, student=modified_nn_light,
                  train_loader=train_loader, epochs=3, learning_rate=0.003,
                  hidden_rep_loss_weight=0.25, ce_loss_weight=0.75, device=device)


class ModifiedDeepNNRegressor(DeepNN):
    def forward(self, x):
        x = self.features(x)
        conv_feature_map = x
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x, conv_feature_map


class ModifiedLightNNRegressor(LightNN):
    def __init__(self, num_classes=4):
        super().__init__(num_classes)
        self.regressor = nn.Sequential(nn.Conv2d(4, 8, kernel_size=3, padding=1))

    def forward(self, x):
        x = self.features(x)
        regressor_output = self.regressor(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x, regressor_output


def train_mse_loss(teacher, student, train_loader, epochs, learning_rate, feature_map_weight,
                   ce_loss_weight, device):
    ce_loss = nn.CrossEntropyLoss()
    mse_loss = nn.MSELoss()
    optimizer = optim.Adam(student.parameters(), lr=learning_rate)
    teacher.eval()
    student.train()
    student.classifier[2].p = 0.0
    for epoch in range(epochs):
        running_loss = 0.0
        for inputs, labels in train_loader:
            optimizer.zero_grad()
            with torch.no_grad():
                _, teacher_feature_map = teacher(inputs)
            student_logits, regressor_feature_map = student(inputs)
            hidden_rep_loss = mse_loss(regressor_feature_map, teacher_feature_map)
            label_loss = ce_loss(student_logits, labels)
            loss = feature_map_weight * hidden_rep_loss + ce_loss_weight * label_loss
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        print(f"Epoch {epoch + 1}/{epochs}, Loss: {running_loss / len(train_loader):.4f}")


modified_nn_deep_reg = ModifiedDeepNNRegressor().to(device)
modified_nn_deep_reg.load_state_dict(nn_deep.state_dict())
modified_nn_light_reg = fixed_(ModifiedLightNNRegressor())
modified_nn_light_reg.load_state_dict(light_state, strict=False)
result = modified_nn_light_reg.load_state_dict(light_state, strict=False)
print("missing keys:", result.missing_keys)
train_mse_loss(teacher=modified_nn_deep_reg, student=modified_nn_light_reg,
               train_loader=train_loader, epochs=3, learning_rate=0.003,
               feature_map_weight=0.25, ce_loss_weight=0.75, device=device)
with torch.no_grad():
    logits, feature_map = modified_nn_light_reg(images[48:])
print("regressor feature map:", tuple(feature_map.shape), f"{feature_map.abs().mean().item():.5f}")
